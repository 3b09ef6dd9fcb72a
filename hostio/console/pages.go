package console

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Pages is access to a guest's memory, page by page, as dom0 has it
// through foreign mappings. hvsim.Sim (and the simulated host's
// hypervisor) and hvremote.Client are Pages.
type Pages interface {
	// ReadPage returns a copy of page pfn of domain id.
	ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error)
	// WritePage writes data at the start of page pfn and zeroes the rest.
	WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error
}

// PagesAt is the optional ability of Pages to write part of a page and
// leave the rest alone, as a store through a shared mapping does (hvsim.Sim
// has it). With it the daemon writes only the ring fields it owns (in[],
// in_prod, out_cons), so it never races with the guest's writes. Without it
// every update writes the whole page as read just before, and a guest
// write between the two is lost: see docs/console.md.
type PagesAt interface {
	WritePageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset int, data []byte) error
}

// PagesReadAt is the optional ability of Pages to read part of a page
// (hvsim.Sim and hvremote.Client have it). With it a poll reads the ring's
// four indexes first (16 bytes) and the whole page only when the guest
// printed something or input waits: an idle console costs a few bytes a
// poll instead of a page, which matters with thousands of domains and the
// hypervisor in another process.
type PagesReadAt interface {
	ReadPageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset, n int) ([]byte, error)
}

// indexesLen is the bytes of a ring page's indexes, from OffInCons.
const indexesLen = OffOutProd + 4 - OffInCons

// quiet reports whether the ring of page pfn has no output queued, by its
// indexes alone; ok is false when pages cannot read part of a page.
func quiet(ctx context.Context, pages Pages, id hypervisor.DomID, pfn uint64) (quiet, ok bool, err error) {
	at, ok := pages.(PagesReadAt)
	if !ok {
		return false, false, nil
	}
	b, err := at.ReadPageAt(ctx, id, pfn, OffInCons, indexesLen)
	if err != nil {
		return false, true, err
	}
	if len(b) != indexesLen {
		return false, true, fmt.Errorf("console: domain %d: %d bytes of indexes: %w", id, len(b), errdefs.ErrInvalid)
	}
	le := binary.LittleEndian
	return le.Uint32(b[OffOutCons-OffInCons:]) == le.Uint32(b[OffOutProd-OffInCons:]), true, nil
}

// span is a range of a page.
type span struct{ off, n int }

// writeBack writes the spans of page that dom0 changed, or the whole page
// when pages cannot write part of one. The spans are written in order: the
// bytes of a ring before its index, as the write barrier in xenconsoled
// orders them.
func writeBack(ctx context.Context, pages Pages, id hypervisor.DomID, pfn uint64, page []byte, spans ...span) error {
	at, ok := pages.(PagesAt)
	if !ok {
		return pages.WritePage(ctx, id, pfn, page)
	}
	for _, s := range spans {
		if err := at.WritePageAt(ctx, id, pfn, s.off, page[s.off:s.off+s.n]); err != nil {
			return err
		}
	}
	return nil
}
