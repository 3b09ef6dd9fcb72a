package hvsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// GuestShutdown is the guest shutting itself down (SCHEDOP_shutdown): after
// a poweroff, reboot or suspend request it found in xenstore, or when it
// crashes. The guest must be running.
func (s *Sim) GuestShutdown(id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	return s.do(context.Background(), "guest shutdown", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		if !d.runnable() {
			return false, invalid("guest is not running")
		}
		return d.shutDown(reason)
	})
}

// WritePage writes data at the start of page pfn of a built domain and
// zeroes the rest of the page, as the guest or a dom0 foreign mapping
// would. The write shows in the dirty log.
func (s *Sim) WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error {
	return s.do(ctx, "write page", id, func(d *domain) (bool, error) {
		if err := d.checkPFN(pfn); err != nil {
			return false, err
		}
		if len(data) > hypervisor.PageSize {
			return false, invalid("%d bytes do not fit a page", len(data))
		}
		p := d.page(pfn)
		n := copy(p[:], data)
		clear(p[n:])
		d.markDirty(pfn)
		return false, nil
	})
}

// ReadPage returns a copy of page pfn of a built domain.
func (s *Sim) ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error) {
	out := make([]byte, hypervisor.PageSize)
	err := s.do(ctx, "read page", id, func(d *domain) (bool, error) {
		if err := d.checkPFN(pfn); err != nil {
			return false, err
		}
		if p := d.pages[pfn]; p != nil {
			copy(out, p[:])
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkPFN checks that pfn is a page of a built, live, guest domain.
func (d *domain) checkPFN(pfn uint64) error {
	if err := d.checkBuilt(); err != nil {
		return err
	}
	if pfn >= d.p2mPages {
		return invalid("pfn %#x is beyond the domain's %d pages", pfn, d.p2mPages)
	}
	return nil
}

// checksumChunk is how many pages MemoryChecksum hashes per lock hold.
const checksumChunk = 256

var zeroPage [hypervisor.PageSize]byte

// MemoryChecksum returns the SHA-256 of a built domain's memory: for each
// page that is not all zeros, in pfn order, its pfn (8 bytes, little-endian)
// then its bytes. Pages never written count as zeros, so two domains with
// the same contents have the same checksum however their pages were
// allocated. The domain should be paused for the result to mean anything.
func (s *Sim) MemoryChecksum(ctx context.Context, id hypervisor.DomID) ([32]byte, error) {
	var pfns []uint64
	err := s.do(ctx, "memory checksum", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		pfns = sortedPFNs(d.pages)
		return false, nil
	})
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	var pfnBytes [8]byte
	for chunk := range slices.Chunk(pfns, checksumChunk) {
		err := s.do(ctx, "memory checksum", id, func(d *domain) (bool, error) {
			if err := d.checkBuilt(); err != nil {
				return false, err
			}
			for _, pfn := range chunk {
				p := d.pages[pfn]
				if p == nil || bytes.Equal(p[:], zeroPage[:]) {
					continue
				}
				binary.LittleEndian.PutUint64(pfnBytes[:], pfn)
				h.Write(pfnBytes[:])
				h.Write(p[:])
			}
			return false, nil
		})
		if err != nil {
			return [32]byte{}, err
		}
	}
	return [32]byte(h.Sum(nil)), nil
}

// sortedPFNs returns the allocated pfns in order.
func sortedPFNs(pages map[uint64]*[hypervisor.PageSize]byte) []uint64 {
	pfns := make([]uint64, 0, len(pages))
	for pfn := range pages {
		pfns = append(pfns, pfn)
	}
	slices.Sort(pfns)
	return pfns
}
