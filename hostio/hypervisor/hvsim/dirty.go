package hvsim

import (
	"context"
	"encoding/binary"
	"math/bits"
	"slices"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// dirtyCapFactor bounds the pages written in one observation to this many
// times the working set: more writes would land on pages already written.
const dirtyCapFactor = 4

// settle accounts the time since the domain was last observed: CPU time
// while it could run, and the pages its guest wrote meanwhile. s.mu is held.
func (s *Sim) settle(d *domain) {
	now := s.cfg.Clock()
	elapsed := now.Sub(d.since)
	d.since = now
	if elapsed <= 0 || !d.runnable() {
		return
	}
	d.cpuTime += elapsed
	if d.rate <= 0 || d.control {
		return
	}
	limit := uint64(dirtyCapFactor * s.cfg.WorkingSetPages)
	// pages = (elapsed * rate + carry) / 1s, in 128 bits.
	hi, lo := bits.Mul64(uint64(elapsed), uint64(d.rate))
	lo, c := bits.Add64(lo, d.carry, 0)
	hi += c
	var n uint64
	if hi >= uint64(time.Second) {
		n, d.carry = limit, 0
	} else {
		n, d.carry = bits.Div64(hi, lo, uint64(time.Second))
	}
	d.guestWrites(min(n, limit), s.cfg.WorkingSetPages)
}

// guestWrites makes the guest write n pages of its working set: ws pages
// spread evenly over its memory, skipping the ring pages. Each write puts a
// counter and a random word at a random offset.
func (d *domain) guestWrites(n uint64, ws int) {
	span := d.p2mPages
	if span == 0 {
		return
	}
	set := min(uint64(ws), span)
	stride := span / set
	for range n {
		r := d.next()
		pfn := (r % set) * stride
		d.writes++
		if pfn == d.ring.StoreGFN || pfn == d.ring.ConsoleGFN {
			continue
		}
		off := (r >> 32) % (hypervisor.PageSize/8 - 1) * 8
		p := d.page(pfn)
		binary.LittleEndian.PutUint64(p[off:], d.writes)
		binary.LittleEndian.PutUint64(p[off+8:], r)
		d.markDirty(pfn)
	}
}

// next steps the domain's splitmix64 generator.
func (d *domain) next() uint64 {
	d.rng += 0x9E3779B97F4A7C15
	z := d.rng
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// SetDirtyRate sets how many pages per second the domain's guest writes
// while it runs; 0 makes it idle (Blocked rather than Running).
func (s *Sim) SetDirtyRate(id hypervisor.DomID, pagesPerSecond int) error {
	return s.do(context.Background(), "set dirty rate", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		if pagesPerSecond < 0 {
			return false, invalid("negative dirty rate %d", pagesPerSecond)
		}
		d.rate = pagesPerSecond
		return false, nil
	})
}

// GuestWrites returns how many page writes the domain's guest has made at
// its dirty rate (writes to the same page count again).
func (s *Sim) GuestWrites(id hypervisor.DomID) (uint64, error) {
	var n uint64
	err := s.do(context.Background(), "guest writes", id, func(d *domain) (bool, error) {
		n = d.writes
		return false, nil
	})
	return n, err
}

// EnableDirtyLog implements hypervisor.Migration.
func (s *Sim) EnableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	return s.do(ctx, "enable dirty log", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		if d.logDirty {
			return false, errorf(errdefs.ErrBusy, "dirty logging is already enabled")
		}
		d.logDirty, d.dirty = true, make(map[uint64]struct{})
		return false, nil
	})
}

// DisableDirtyLog implements hypervisor.Migration.
func (s *Sim) DisableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	return s.do(ctx, "disable dirty log", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		d.logDirty, d.dirty = false, nil
		return false, nil
	})
}

// ReadDirtyLog implements hypervisor.Migration.
func (s *Sim) ReadDirtyLog(ctx context.Context, id hypervisor.DomID, clearLog bool) ([]uint64, error) {
	var pfns []uint64
	err := s.do(ctx, "read dirty log", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		if !d.logDirty {
			return false, invalid("dirty logging is not enabled")
		}
		pfns = d.takeDirty(clearLog)
		return false, nil
	})
	return pfns, err
}

// takeDirty returns the logged pfns, sorted, emptying the log if reset.
func (d *domain) takeDirty(reset bool) []uint64 {
	pfns := make([]uint64, 0, len(d.dirty))
	for pfn := range d.dirty {
		pfns = append(pfns, pfn)
	}
	slices.Sort(pfns)
	if reset {
		clear(d.dirty)
	}
	return pfns
}
