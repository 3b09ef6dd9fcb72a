package hvsim

import (
	"context"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// Restore implements hypervisor.Migration. The image is read into a staging
// area and applied only when its End record arrives, so a corrupt,
// truncated or hostile image leaves the domain as it was. The ring pages
// come from the image; the ports are fresh, as after Build.
func (s *Sim) Restore(ctx context.Context, id hypervisor.DomID, r io.Reader) (hypervisor.BuildResult, error) {
	var (
		t   restoreTarget
		res hypervisor.BuildResult
	)
	err := s.do(ctx, "restore", id, func(d *domain) (bool, error) {
		if err := d.checkRestorable(); err != nil {
			return false, err
		}
		t = restoreTarget{d: d, typ: d.typ, vcpus: d.vcpus, maxMemKiB: d.maxMemKiB}
		return false, nil
	})
	if err != nil {
		return res, err
	}
	img, err := readImage(ctx, r, t)
	if err != nil {
		return res, fmt.Errorf("restore: domain %d: %w", id, err)
	}
	err = s.do(ctx, "restore", id, func(d *domain) (bool, error) {
		if err := d.checkRestorable(); err != nil {
			return false, err
		}
		if d != t.d || d.vcpus < img.hdr.VCPUs || d.maxMemKiB < img.hdr.MemoryKiB {
			return false, invalid("changed while the image was read")
		}
		mem := img.hdr.MemoryKiB
		if err := s.reserve(mem); err != nil {
			return false, err
		}
		d.setBuilt(mem, orDefault(img.hdr.TargetKiB, mem), hypervisor.BuildResult{
			StoreGFN: img.hdr.StoreGFN, StorePort: storePort, ConsoleGFN: img.hdr.ConsoleGFN, ConsolePort: consolePort,
		})
		d.pages = img.pages
		d.paused = true
		res = d.ring
		return false, nil
	})
	return res, err
}

// checkRestorable checks that an image may be restored into the domain.
func (d *domain) checkRestorable() error {
	if err := d.check(); err != nil {
		return err
	}
	if d.built {
		return invalid("is already built")
	}
	if d.shutdown {
		return invalid("is shut down")
	}
	return nil
}

// restoreTarget is what the image is checked against.
type restoreTarget struct {
	d         *domain
	typ       hypervisor.DomainType
	vcpus     int
	maxMemKiB uint64
}

// image is a parsed memory image.
type image struct {
	hdr   hypervisor.ImageHeader
	pages map[uint64]*[hypervisor.PageSize]byte
}

// readImage parses PageBatch* Header PageBatch* VCPUContext* End. Every
// page must lie within the header's memory, or before the header within the
// target's maximum.
func readImage(ctx context.Context, r io.Reader, t restoreTarget) (*image, error) {
	img := &image{}
	var (
		haveHeader bool
		seen       []bool // vCPU contexts read, by id
		contexts   int
	)
	limit := t.maxMemKiB / kibPerPage
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		typ, body, err := hypervisor.ReadRecord(r)
		if err == io.EOF {
			return nil, invalid("image ends before its end record")
		}
		if err != nil {
			return nil, err
		}
		switch typ {
		case hypervisor.RecordHeader:
			if haveHeader {
				return nil, invalid("second header record")
			}
			if err := img.hdr.UnmarshalBinary(body); err != nil {
				return nil, err
			}
			if err := t.accepts(img.hdr); err != nil {
				return nil, err
			}
			limit = img.hdr.Pages()
			for pfn := range img.pages {
				if pfn >= limit {
					return nil, invalid("pfn %#x sent before the header is beyond the image's %d pages", pfn, limit)
				}
			}
			haveHeader, seen = true, make([]bool, img.hdr.VCPUs)
		case hypervisor.RecordPageBatch:
			if contexts > 0 {
				return nil, invalid("page batch after the vCPU contexts")
			}
			if err := img.addPages(body, limit); err != nil {
				return nil, err
			}
		case hypervisor.RecordVCPUContext:
			if !haveHeader {
				return nil, invalid("vCPU context before the header")
			}
			var c hypervisor.VCPUContext
			if err := c.UnmarshalBinary(body); err != nil {
				return nil, err
			}
			if int64(c.ID) >= int64(len(seen)) || seen[c.ID] {
				return nil, invalid("vCPU context %d is repeated or beyond the image's %d vCPUs", c.ID, len(seen))
			}
			seen[c.ID] = true
			contexts++
		case hypervisor.RecordEnd:
			switch {
			case !haveHeader:
				return nil, invalid("end record before the header")
			case len(body) != 0:
				return nil, invalid("end record with a %d-byte body", len(body))
			case contexts != len(seen):
				return nil, invalid("image has contexts for %d of %d vCPUs", contexts, len(seen))
			}
			return img, nil
		default:
			return nil, invalid("unknown record %s", typ)
		}
	}
}

// accepts checks an image header against the target domain.
func (t restoreTarget) accepts(h hypervisor.ImageHeader) error {
	switch {
	case h.Type != t.typ:
		return invalid("image of a %s domain, target is %s", h.Type, t.typ)
	case h.VCPUs > t.vcpus:
		return invalid("image has %d vCPUs, target allows %d", h.VCPUs, t.vcpus)
	case h.MemoryKiB > t.maxMemKiB:
		return invalid("image memory %d KiB exceeds the target's max %d KiB", h.MemoryKiB, t.maxMemKiB)
	}
	return nil
}

// addPages stages a page batch; later copies of a page replace earlier ones
// and zero pages drop them.
func (img *image) addPages(body []byte, limit uint64) error {
	pages, err := hypervisor.DecodePageBatch(body)
	if err != nil {
		return err
	}
	for _, p := range pages {
		if p.PFN >= limit {
			return invalid("pfn %#x is beyond %d pages", p.PFN, limit)
		}
	}
	for _, p := range pages {
		if p.Data == nil {
			delete(img.pages, p.PFN)
			continue
		}
		if img.pages == nil {
			img.pages = make(map[uint64]*[hypervisor.PageSize]byte)
		}
		dst := img.pages[p.PFN]
		if dst == nil {
			dst = new([hypervisor.PageSize]byte)
			img.pages[p.PFN] = dst
		}
		copy(dst[:], p.Data)
	}
	return nil
}
