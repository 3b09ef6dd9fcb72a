package hypervisor

import (
	"encoding/binary"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Page is one guest page of a PageBatch record.
type Page struct {
	PFN uint64
	// Data is the page's PageSize bytes, or nil for a page of zeros, which
	// the batch carries without data.
	Data []byte
}

// MaxPFN is the largest pfn a page batch can carry (52 bits, as in Xen's
// migration stream).
const MaxPFN = 1<<52 - 1

// Entry layout of a page batch: the pfn in the low 52 bits, the page type in
// the top 4.
const (
	pageTypeShift = 60
	pageTypeData  = 0 // PageSize bytes of data follow
	pageTypeZero  = 1 // a page of zeros, no data
	batchHead     = 8 // count (u32) and a reserved u32
)

// EncodePageBatch returns the body of a PageBatch record: the number of
// pages, a 64-bit entry per page (pfn and type), then the data of the pages
// that are not all zeros, in order.
func EncodePageBatch(pages []Page) ([]byte, error) {
	if len(pages) == 0 || len(pages) > MaxBatchPages {
		return nil, fmt.Errorf("page batch of %d pages: want 1 to %d: %w", len(pages), MaxBatchPages, errdefs.ErrInvalid)
	}
	size := batchHead + 8*len(pages)
	for _, p := range pages {
		if p.PFN > MaxPFN {
			return nil, fmt.Errorf("page batch: pfn %#x exceeds %#x: %w", p.PFN, uint64(MaxPFN), errdefs.ErrInvalid)
		}
		if p.Data != nil && len(p.Data) != PageSize {
			return nil, fmt.Errorf("page batch: pfn %#x has %d bytes, want %d: %w", p.PFN, len(p.Data), PageSize, errdefs.ErrInvalid)
		}
		if p.Data != nil {
			size += PageSize
		}
	}
	b := make([]byte, batchHead+8*len(pages), size)
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(pages)))
	for i, p := range pages {
		e := p.PFN
		if p.Data == nil {
			e |= pageTypeZero << pageTypeShift
		} else {
			b = append(b, p.Data...)
		}
		binary.LittleEndian.PutUint64(b[batchHead+8*i:], e)
	}
	return b, nil
}

// DecodePageBatch parses the body of a PageBatch record. The returned pages'
// Data alias body; zero pages have nil Data. A malformed body is
// errdefs.ErrInvalid.
func DecodePageBatch(body []byte) ([]Page, error) {
	if len(body) < batchHead {
		return nil, fmt.Errorf("page batch: %d bytes, shorter than its head: %w", len(body), errdefs.ErrInvalid)
	}
	n := int(binary.LittleEndian.Uint32(body[0:4]))
	if n == 0 || n > MaxBatchPages {
		return nil, fmt.Errorf("page batch of %d pages: want 1 to %d: %w", n, MaxBatchPages, errdefs.ErrInvalid)
	}
	if binary.LittleEndian.Uint32(body[4:8]) != 0 {
		return nil, fmt.Errorf("page batch: reserved field set: %w", errdefs.ErrInvalid)
	}
	if len(body) < batchHead+8*n {
		return nil, fmt.Errorf("page batch of %d pages: %d bytes, too short for the entries: %w", n, len(body), errdefs.ErrInvalid)
	}
	pages := make([]Page, n)
	off := batchHead + 8*n
	for i := range pages {
		e := binary.LittleEndian.Uint64(body[batchHead+8*i:])
		pages[i].PFN = e & MaxPFN
		switch typ := e >> pageTypeShift; {
		case typ == pageTypeZero:
		case typ == pageTypeData:
			if len(body)-off < PageSize {
				return nil, fmt.Errorf("page batch: data of pfn %#x truncated: %w", pages[i].PFN, errdefs.ErrInvalid)
			}
			pages[i].Data = body[off : off+PageSize : off+PageSize]
			off += PageSize
		default:
			return nil, fmt.Errorf("page batch: pfn %#x has unknown page type %d: %w", pages[i].PFN, typ, errdefs.ErrInvalid)
		}
		if e&^(MaxPFN|0xF<<pageTypeShift) != 0 {
			return nil, fmt.Errorf("page batch: entry %#x has reserved bits set: %w", e, errdefs.ErrInvalid)
		}
	}
	if off != len(body) {
		return nil, fmt.Errorf("page batch: %d trailing bytes: %w", len(body)-off, errdefs.ErrInvalid)
	}
	return pages, nil
}
