package hypervisor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// RecordType is the type of one record of a memory image.
type RecordType uint64

// The record types. Type 0 is never valid, so a zeroed stream is rejected.
const (
	// RecordHeader carries the image header and the domain's configuration
	// (ImageHeader).
	RecordHeader RecordType = 1
	// RecordPageBatch carries a list of pfns and their 4 KiB pages
	// (EncodePageBatch).
	RecordPageBatch RecordType = 2
	// RecordVCPUContext carries the state of one vCPU (VCPUContext).
	RecordVCPUContext RecordType = 3
	// RecordEnd ends the image; its body is empty.
	RecordEnd RecordType = 4
)

// String returns the record type's name.
func (t RecordType) String() string {
	switch t {
	case RecordHeader:
		return "header"
	case RecordPageBatch:
		return "page-batch"
	case RecordVCPUContext:
		return "vcpu-context"
	case RecordEnd:
		return "end"
	case RecordEmulatorState:
		return "emulator-state"
	}
	return "RecordType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Image limits.
const (
	// PageSize is the size of a guest page.
	PageSize = 4096
	// MaxBatchPages is the most pages one PageBatch record holds (Xen's
	// MAX_BATCH_SIZE).
	MaxBatchPages = 1024
	// RecordHeaderSize is the size of a record header: type and length.
	RecordHeaderSize = 16
	// MaxRecordSize is the largest record body accepted: a full page batch
	// with room to spare. Longer records are rejected before any allocation.
	MaxRecordSize = 8 + MaxBatchPages*8 + MaxBatchPages*PageSize + 64<<10
)

// readChunk is how much of a long body is allocated before its bytes arrive,
// so a stream that announces a large record and ends costs little.
const readChunk = 64 << 10

// WriteRecord writes one record: its type, the body's length, then the body.
func WriteRecord(w io.Writer, typ RecordType, body []byte) error {
	if len(body) > MaxRecordSize {
		return fmt.Errorf("record %s: body of %d bytes exceeds %d: %w", typ, len(body), MaxRecordSize, errdefs.ErrInvalid)
	}
	var hdr [RecordHeaderSize]byte
	binary.LittleEndian.PutUint64(hdr[0:8], uint64(typ))
	binary.LittleEndian.PutUint64(hdr[8:16], uint64(len(body)))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write record %s: %w", typ, err)
	}
	if len(body) == 0 {
		return nil
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("write record %s: %w", typ, err)
	}
	return nil
}

// ReadRecord reads one record. It returns io.EOF, unwrapped, when r ends
// cleanly before a record; a record cut short or longer than MaxRecordSize
// is errdefs.ErrInvalid. Errors of r itself are returned wrapped.
func ReadRecord(r io.Reader) (RecordType, []byte, error) {
	var hdr [RecordHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("record header truncated: %w: %w", errdefs.ErrInvalid, err)
		}
		return 0, nil, fmt.Errorf("read record header: %w", err)
	}
	typ := RecordType(binary.LittleEndian.Uint64(hdr[0:8]))
	n := binary.LittleEndian.Uint64(hdr[8:16])
	if n > MaxRecordSize {
		return typ, nil, fmt.Errorf("record %s: length %d exceeds %d: %w", typ, n, MaxRecordSize, errdefs.ErrInvalid)
	}
	body, err := readBody(r, int(n))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return typ, nil, fmt.Errorf("record %s: body truncated at %d of %d bytes: %w: %w",
				typ, len(body), n, errdefs.ErrInvalid, io.ErrUnexpectedEOF)
		}
		return typ, nil, fmt.Errorf("read record %s: %w", typ, err)
	}
	return typ, body, nil
}

// readBody reads n bytes, growing the buffer only as bytes arrive.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n <= readChunk {
		b := make([]byte, n)
		got, err := io.ReadFull(r, b)
		return b[:got], err
	}
	b := make([]byte, 0, readChunk)
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(n-len(b), cap(b)))
		}
		got, err := io.ReadFull(r, b[len(b):min(n, cap(b))])
		b = b[:len(b)+got]
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
