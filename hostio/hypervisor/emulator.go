package hypervisor

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// RecordEmulatorState carries the saved state of one of the domain's
// emulators (EmulatorState). The hypervisor's image does not hold it: the
// toolstack writes these records after the image's End record, as
// xenopsd's save stream follows the domain's memory with the device
// model's and DEMU's records, and reads them back after a restore
// (ImageReader).
const RecordEmulatorState RecordType = 5

// maxEmulatorName bounds EmulatorState.Emulator.
const maxEmulatorName = 64

// EmulatorState is the body of a RecordEmulatorState record: which
// emulator saved it (a name such as "demu", and the instance, such as the
// vGPU's devid) and its opaque state.
type EmulatorState struct {
	Emulator string
	Instance uint32
	Data     []byte
}

// MarshalBinary encodes the state: the name's length, the instance, the
// name, then the data.
func (s EmulatorState) MarshalBinary() ([]byte, error) {
	if s.Emulator == "" || len(s.Emulator) > maxEmulatorName {
		return nil, fmt.Errorf("emulator state: name %q is empty or longer than %d bytes: %w", s.Emulator,
			maxEmulatorName, errdefs.ErrInvalid)
	}
	if 8+len(s.Emulator)+len(s.Data) > MaxRecordSize {
		return nil, fmt.Errorf("emulator state of %s %d: %d bytes exceed %d: %w", s.Emulator, s.Instance,
			len(s.Data), MaxRecordSize, errdefs.ErrInvalid)
	}
	b := make([]byte, 8, 8+len(s.Emulator)+len(s.Data))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(s.Emulator)))
	binary.LittleEndian.PutUint32(b[4:], s.Instance)
	b = append(b, s.Emulator...)
	return append(b, s.Data...), nil
}

// UnmarshalBinary decodes a state; Data aliases b. Anything malformed is
// errdefs.ErrInvalid.
func (s *EmulatorState) UnmarshalBinary(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("emulator state: %d bytes: %w", len(b), errdefs.ErrInvalid)
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if n == 0 || n > maxEmulatorName || uint64(n) > uint64(len(b)-8) {
		return fmt.Errorf("emulator state: name of %d bytes in a body of %d: %w", n, len(b), errdefs.ErrInvalid)
	}
	s.Instance = binary.LittleEndian.Uint32(b[4:])
	s.Emulator = string(b[8 : 8+n])
	s.Data = b[8+n:]
	return nil
}

// ImageReader returns a reader of exactly one image of r: its records up
// to and including the End record, then io.EOF, leaving r just after the
// End record, where the toolstack's own records follow. A record longer
// than MaxRecordSize ends it with errdefs.ErrInvalid; r ending before the
// End record is io.ErrUnexpectedEOF.
func ImageReader(r io.Reader) io.Reader {
	return &imageReader{r: r}
}

type imageReader struct {
	r     io.Reader
	hdr   [RecordHeaderSize]byte
	inHdr int    // bytes of the current record header passed on
	body  uint64 // bytes of the current body still to pass on
	last  bool   // the current record is End
	err   error
}

func (ir *imageReader) Read(p []byte) (int, error) {
	if ir.err != nil {
		return 0, ir.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if ir.body > 0 {
		if uint64(len(p)) > ir.body {
			p = p[:ir.body]
		}
		n, err := ir.r.Read(p)
		ir.body -= uint64(n)
		if ir.body == 0 && ir.last {
			ir.err = io.EOF
		}
		return n, ir.noEOF(err)
	}
	// A record header, passed on as it is read.
	n, err := ir.r.Read(ir.hdr[ir.inHdr:min(RecordHeaderSize, ir.inHdr+len(p))])
	copy(p, ir.hdr[ir.inHdr:ir.inHdr+n])
	ir.inHdr += n
	if ir.inHdr == RecordHeaderSize {
		ir.inHdr = 0
		typ := RecordType(binary.LittleEndian.Uint64(ir.hdr[0:8]))
		ir.body = binary.LittleEndian.Uint64(ir.hdr[8:16])
		ir.last = typ == RecordEnd
		switch {
		case ir.body > MaxRecordSize:
			ir.err = fmt.Errorf("record %s: length %d exceeds %d: %w", typ, ir.body, MaxRecordSize, errdefs.ErrInvalid)
		case ir.last && ir.body == 0:
			ir.err = io.EOF
		}
		if ir.err != nil {
			return n, nil
		}
	}
	return n, ir.noEOF(err)
}

// noEOF turns the end of r inside the image into io.ErrUnexpectedEOF.
func (ir *imageReader) noEOF(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && ir.err == nil {
		ir.err = err
	}
	return err
}
