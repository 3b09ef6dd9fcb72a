package console

import (
	"encoding/binary"
	"fmt"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The layout of the console ring page, struct xencons_interface of Xen's
// public/io/console.h: the input ring (dom0 to guest), the output ring
// (guest to dom0), then the four free-running 32-bit indexes, little-endian
// as on x86. A ring's bytes are at index % size.
const (
	InSize  = 1024 // bytes of the input ring
	OutSize = 2048 // bytes of the output ring

	OffIn      = 0
	OffOut     = OffIn + InSize
	OffInCons  = OffOut + OutSize // written by the guest
	OffInProd  = OffInCons + 4    // written by dom0
	OffOutCons = OffInProd + 4    // written by dom0
	OffOutProd = OffOutCons + 4   // written by the guest
)

// Indexes are a ring page's four indexes.
type Indexes struct {
	InCons, InProd, OutCons, OutProd uint32
}

// ReadIndexes returns the indexes of page, a whole console ring page.
func ReadIndexes(page []byte) Indexes {
	le := binary.LittleEndian
	return Indexes{InCons: le.Uint32(page[OffInCons:]), InProd: le.Uint32(page[OffInProd:]),
		OutCons: le.Uint32(page[OffOutCons:]), OutProd: le.Uint32(page[OffOutProd:])}
}

// ErrCorrupt is a ring whose indexes say more bytes are queued than the
// ring holds: a guest that scribbled on its page. It wraps
// errdefs.ErrInvalid.
var ErrCorrupt = fmt.Errorf("console ring indexes are corrupt: %w", errdefs.ErrInvalid)

// checkPage checks that page is a whole page.
func checkPage(page []byte) error {
	if len(page) != hypervisor.PageSize {
		return fmt.Errorf("console ring page of %d bytes: %w", len(page), errdefs.ErrInvalid)
	}
	return nil
}

// Output returns the bytes queued in page's output ring, from out_cons to
// out_prod, as a new slice; dom0 then advances out_cons by their length.
// More than OutSize queued is ErrCorrupt.
func Output(page []byte) ([]byte, error) {
	if err := checkPage(page); err != nil {
		return nil, err
	}
	ix := ReadIndexes(page)
	n := ix.OutProd - ix.OutCons
	if n > OutSize {
		return nil, fmt.Errorf("%w: out_cons %d, out_prod %d", ErrCorrupt, ix.OutCons, ix.OutProd)
	}
	return copyOut(page[OffOut:OffOut+OutSize], ix.OutCons, n), nil
}

// copyOut copies n bytes of ring from index cons.
func copyOut(ring []byte, cons, n uint32) []byte {
	out := make([]byte, n)
	size := uint32(len(ring))
	for i := uint32(0); i < n; {
		at := (cons + i) % size
		i += uint32(copy(out[i:], ring[at:min(size, at+n-i)]))
	}
	return out
}

// copyIn copies data into ring from index prod.
func copyIn(ring []byte, prod uint32, data []byte) {
	size := uint32(len(ring))
	for i := 0; i < len(data); {
		at := (prod + uint32(i)) % size
		i += copy(ring[at:], data[i:min(len(data), i+int(size-at))])
	}
}

// PutOutput is the guest's side of the output ring: it copies as much of
// data as fits into page's output ring and advances out_prod, in page only.
// It returns how many bytes it took; 0 when the ring is full (or corrupt).
func PutOutput(page, data []byte) (int, error) {
	if err := checkPage(page); err != nil {
		return 0, err
	}
	ix := ReadIndexes(page)
	return put(page, OffOut, OutSize, OffOutProd, ix.OutCons, ix.OutProd, data), nil
}

// PutInput is dom0's side of the input ring: it copies as much of data as
// fits into page's input ring and advances in_prod, in page only. It
// returns how many bytes it took, or ErrCorrupt when the indexes say more
// than InSize is queued.
func PutInput(page, data []byte) (int, error) {
	if err := checkPage(page); err != nil {
		return 0, err
	}
	ix := ReadIndexes(page)
	if ix.InProd-ix.InCons > InSize {
		return 0, fmt.Errorf("%w: in_cons %d, in_prod %d", ErrCorrupt, ix.InCons, ix.InProd)
	}
	return put(page, OffIn, InSize, OffInProd, ix.InCons, ix.InProd, data), nil
}

// Input is the guest's side of the input ring: the bytes queued from
// in_cons to in_prod, as a new slice. More than InSize queued is
// ErrCorrupt.
func Input(page []byte) ([]byte, error) {
	if err := checkPage(page); err != nil {
		return nil, err
	}
	ix := ReadIndexes(page)
	n := ix.InProd - ix.InCons
	if n > InSize {
		return nil, fmt.Errorf("%w: in_cons %d, in_prod %d", ErrCorrupt, ix.InCons, ix.InProd)
	}
	return copyOut(page[OffIn:OffIn+InSize], ix.InCons, n), nil
}

// put copies what fits of data into the ring at off of size bytes and
// stores the new producer index at prodOff.
func put(page []byte, off, size, prodOff int, cons, prod uint32, data []byte) int {
	used := prod - cons
	if used >= uint32(size) {
		return 0
	}
	n := min(len(data), size-int(used))
	copyIn(page[off:off+size], prod, data[:n])
	binary.LittleEndian.PutUint32(page[prodOff:], prod+uint32(n))
	return n
}

// SetIndex stores v at off (one of the Off*Cons or Off*Prod) in page.
func SetIndex(page []byte, off int, v uint32) {
	binary.LittleEndian.PutUint32(page[off:], v)
}
