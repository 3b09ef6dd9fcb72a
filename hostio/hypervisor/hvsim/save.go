package hvsim

import (
	"context"
	"encoding"
	"fmt"
	"io"
	"slices"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// Save implements hypervisor.Migration. It writes the pages the domain has
// allocated (unwritten pages are zeros and a restored domain starts with
// zeros), or with DirtyOnly the pages in the dirty log, as zero pages when
// unallocated. The simulator's lock is not held while w is written.
func (s *Sim) Save(ctx context.Context, id hypervisor.DomID, w io.Writer, opts hypervisor.SaveOptions) error {
	var (
		hdr   hypervisor.ImageHeader
		pfns  []uint64
		vcpus int
	)
	err := s.do(ctx, "save", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		if !d.paused && !(d.shutdown && d.reason == hypervisor.ShutdownSuspend) {
			return false, invalid("must be paused or shut down for suspend, is running")
		}
		if opts.DirtyOnly && !d.logDirty {
			return false, invalid("dirty-only save without dirty logging")
		}
		hdr = hypervisor.ImageHeader{
			Type: d.typ, UUID: d.uuid, MemoryKiB: d.memKiB, MaxMemKiB: max(d.maxMemKiB, d.memKiB),
			TargetKiB: min(d.targetKiB, d.memKiB), VCPUs: d.vcpus, StoreGFN: d.ring.StoreGFN, ConsoleGFN: d.ring.ConsoleGFN,
		}
		if opts.DirtyOnly {
			pfns = d.takeDirty(true)
		} else {
			pfns = sortedPFNs(d.pages)
		}
		vcpus = d.vcpus
		return false, nil
	})
	if err != nil {
		return err
	}
	write := func(typ hypervisor.RecordType, m encoding.BinaryMarshaler) error {
		var body []byte
		var err error
		if m != nil {
			body, err = m.MarshalBinary()
		}
		if err == nil {
			err = hypervisor.WriteRecord(w, typ, body)
		}
		if err != nil {
			return fmt.Errorf("save: domain %d: %w", id, err)
		}
		return nil
	}
	if err := write(hypervisor.RecordHeader, hdr); err != nil {
		return err
	}
	if err := s.writePages(ctx, "save", id, pfns, w); err != nil {
		return err
	}
	for v := range vcpus {
		if err := write(hypervisor.RecordVCPUContext, hypervisor.VCPUContext{ID: uint32(v), Online: true}); err != nil {
			return err
		}
	}
	return write(hypervisor.RecordEnd, nil)
}

// ReadPages implements hypervisor.Migration. Unallocated pages go as zero
// pages, which carry no data.
func (s *Sim) ReadPages(ctx context.Context, id hypervisor.DomID, pfns []uint64, w io.Writer) error {
	err := s.do(ctx, "read pages", id, func(d *domain) (bool, error) {
		for _, pfn := range pfns {
			if err := d.checkPFN(pfn); err != nil {
				return false, err
			}
		}
		return false, d.checkBuilt()
	})
	if err != nil {
		return err
	}
	return s.writePages(ctx, "read pages", id, pfns, w)
}

// writePages writes PageBatch records for pfns, encoding each batch under
// the lock (one copy of the pages) and writing it without.
func (s *Sim) writePages(ctx context.Context, op string, id hypervisor.DomID, pfns []uint64, w io.Writer) error {
	batch := make([]hypervisor.Page, 0, hypervisor.MaxBatchPages)
	for chunk := range slices.Chunk(pfns, hypervisor.MaxBatchPages) {
		var body []byte
		err := s.do(ctx, op, id, func(d *domain) (bool, error) {
			if err := d.checkBuilt(); err != nil {
				return false, err
			}
			batch = batch[:0]
			for _, pfn := range chunk {
				pg := hypervisor.Page{PFN: pfn}
				if p := d.pages[pfn]; p != nil {
					pg.Data = p[:]
				}
				batch = append(batch, pg)
			}
			var err error
			body, err = hypervisor.EncodePageBatch(batch)
			return false, err
		})
		if err != nil {
			return err
		}
		if err := hypervisor.WriteRecord(w, hypervisor.RecordPageBatch, body); err != nil {
			return fmt.Errorf("%s: domain %d: %w", op, id, err)
		}
	}
	return nil
}
