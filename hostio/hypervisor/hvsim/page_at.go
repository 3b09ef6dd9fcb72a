package hvsim

import (
	"context"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// WritePageAt writes data at offset in page pfn of a built domain and
// leaves the rest of the page as it is, as a store through a shared mapping
// does: two parties sharing a ring page (the guest and a dom0 daemon) each
// write only the fields they own. The write shows in the dirty log.
func (s *Sim) WritePageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset int, data []byte) error {
	return s.do(ctx, "write page", id, func(d *domain) (bool, error) {
		if err := d.checkPFN(pfn); err != nil {
			return false, err
		}
		if offset < 0 || offset > hypervisor.PageSize || len(data) > hypervisor.PageSize-offset {
			return false, invalid("%d bytes at offset %d do not fit a page", len(data), offset)
		}
		copy(d.page(pfn)[offset:], data)
		d.markDirty(pfn)
		return false, nil
	})
}

// ReadPageAt returns a copy of n bytes of page pfn of domain id from
// offset, as a load through a shared mapping reads them: a console daemon
// reads the ring's indexes without copying the whole page.
func (s *Sim) ReadPageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset, n int) ([]byte, error) {
	if offset < 0 || n < 0 || offset > hypervisor.PageSize || n > hypervisor.PageSize-offset {
		return nil, invalid("%d bytes at offset %d do not fit a page", n, offset)
	}
	out := make([]byte, n)
	err := s.do(ctx, "read page", id, func(d *domain) (bool, error) {
		if err := d.checkPFN(pfn); err != nil {
			return false, err
		}
		if p := d.pages[pfn]; p != nil {
			copy(out, p[offset:offset+n])
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Rings returns what the build or restore of a domain left for it: its
// xenstore and console ring pages and ports, as a guest finds them in its
// start info.
func (s *Sim) Rings(ctx context.Context, id hypervisor.DomID) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := s.do(ctx, "rings", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		res = d.ring
		return false, nil
	})
	return res, err
}
