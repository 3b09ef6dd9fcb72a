package xenstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Op is a xenstore message type (xsd_sockmsg_type).
type Op uint32

// The message types of xs_wire.h.
const (
	OpControl            Op = 0
	OpDirectory          Op = 1
	OpRead               Op = 2
	OpGetPerms           Op = 3
	OpWatch              Op = 4
	OpUnwatch            Op = 5
	OpTransactionStart   Op = 6
	OpTransactionEnd     Op = 7
	OpIntroduce          Op = 8
	OpRelease            Op = 9
	OpGetDomainPath      Op = 10
	OpWrite              Op = 11
	OpMkdir              Op = 12
	OpRm                 Op = 13
	OpSetPerms           Op = 14
	OpWatchEvent         Op = 15
	OpError              Op = 16
	OpIsDomainIntroduced Op = 17
	OpResume             Op = 18
	OpSetTarget          Op = 19
	OpInvalid            Op = 20 // was RESTRICT; always rejected
	OpResetWatches       Op = 21
	OpDirectoryPart      Op = 22
	OpGetFeature         Op = 23
	OpSetFeature         Op = 24
	OpGetQuota           Op = 25
	OpSetQuota           Op = 26
)

var opNames = [...]string{
	"CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH",
	"TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
	"GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT",
	"ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "INVALID",
	"RESET_WATCHES", "DIRECTORY_PART", "GET_FEATURE", "SET_FEATURE",
	"GET_QUOTA", "SET_QUOTA",
}

// String returns the name xs_wire.h gives the op.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "OP(" + strconv.FormatUint(uint64(o), 10) + ")"
}

// Known reports whether the op is one of the types of xs_wire.h.
func (o Op) Known() bool { return int(o) < len(opNames) }

// Wire limits from xs_wire.h.
const (
	HeaderSize      = 16
	PayloadMax      = 4096
	AbsPathMax      = 3072
	RelPathMax      = 2048
	DefaultSocket   = "/var/run/xenstored/socket"
	maxDomid        = 0xFFFF
	localDomainStem = "/local/domain/"
)

// The special watch paths xenstored fires on domain changes.
const (
	WatchIntroduceDomain = "@introduceDomain"
	WatchReleaseDomain   = "@releaseDomain"
)

// ErrPayloadTooLarge is returned when a header announces more than PayloadMax
// bytes; xenstored drops such a connection.
var ErrPayloadTooLarge = errors.New("xenstore: payload larger than 4096 bytes")

// Header is struct xsd_sockmsg: four uint32 in host byte order.
type Header struct {
	Op    Op
	ReqID uint32
	TxID  uint32
	Len   uint32
}

// Message is one framed xenstore message.
type Message struct {
	Op      Op
	ReqID   uint32
	TxID    uint32
	Payload []byte
}

// Append encodes m onto buf and returns the extended slice.
func (m *Message) Append(buf []byte) []byte {
	buf = binary.NativeEndian.AppendUint32(buf, uint32(m.Op))
	buf = binary.NativeEndian.AppendUint32(buf, m.ReqID)
	buf = binary.NativeEndian.AppendUint32(buf, m.TxID)
	buf = binary.NativeEndian.AppendUint32(buf, uint32(len(m.Payload)))
	return append(buf, m.Payload...)
}

// MarshalBinary encodes m. It fails if the payload exceeds PayloadMax.
func (m *Message) MarshalBinary() ([]byte, error) {
	if len(m.Payload) > PayloadMax {
		return nil, ErrPayloadTooLarge
	}
	return m.Append(make([]byte, 0, HeaderSize+len(m.Payload))), nil
}

// String is a short human form used in logs and test failures.
func (m Message) String() string {
	return fmt.Sprintf("%s req=%d tx=%d %q", m.Op, m.ReqID, m.TxID, m.Payload)
}

// DecodeHeader reads a header from the first HeaderSize bytes of b.
func DecodeHeader(b []byte) Header {
	_ = b[HeaderSize-1]
	return Header{
		Op:    Op(binary.NativeEndian.Uint32(b[0:])),
		ReqID: binary.NativeEndian.Uint32(b[4:]),
		TxID:  binary.NativeEndian.Uint32(b[8:]),
		Len:   binary.NativeEndian.Uint32(b[12:]),
	}
}

// ReadMessage reads one whole message from r. The payload is freshly
// allocated. A header announcing more than PayloadMax bytes gives
// ErrPayloadTooLarge without reading the payload.
func ReadMessage(r io.Reader) (Message, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Message{}, err
	}
	h := DecodeHeader(hb[:])
	if h.Len > PayloadMax {
		return Message{}, ErrPayloadTooLarge
	}
	m := Message{Op: h.Op, ReqID: h.ReqID, TxID: h.TxID, Payload: make([]byte, h.Len)}
	if _, err := io.ReadFull(r, m.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	return m, nil
}

// Decoder decodes messages incrementally from bytes fed in arbitrary pieces,
// as they arrive from a stream or a ring.
type Decoder struct {
	buf []byte
	err error
}

// Feed appends bytes read from the stream.
func (d *Decoder) Feed(p []byte) { d.buf = append(d.buf, p...) }

// Buffered returns how many bytes wait to be decoded.
func (d *Decoder) Buffered() int { return len(d.buf) }

// Next returns the next complete message. ok is false when more bytes are
// needed. After an error (an oversized payload) every call returns it again:
// the stream cannot be resynchronised.
func (d *Decoder) Next() (m Message, ok bool, err error) {
	if d.err != nil {
		return Message{}, false, d.err
	}
	if len(d.buf) < HeaderSize {
		return Message{}, false, nil
	}
	h := DecodeHeader(d.buf)
	if h.Len > PayloadMax {
		d.err = ErrPayloadTooLarge
		return Message{}, false, d.err
	}
	end := HeaderSize + int(h.Len)
	if len(d.buf) < end {
		return Message{}, false, nil
	}
	m = Message{Op: h.Op, ReqID: h.ReqID, TxID: h.TxID, Payload: bytes.Clone(d.buf[HeaderSize:end])}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	d.buf = d.buf[:copy(d.buf, d.buf[end:])]
	return m, true, nil
}

// Strings joins s into a payload of NUL-terminated strings.
func Strings(s ...string) []byte {
	n := 0
	for _, x := range s {
		n += len(x) + 1
	}
	b := make([]byte, 0, n)
	for _, x := range s {
		b = append(b, x...)
		b = append(b, 0)
	}
	return b
}

// SplitStrings splits a payload of NUL-terminated strings. A final string
// without its terminator is returned too; an empty payload gives nil.
func SplitStrings(p []byte) []string {
	if len(p) == 0 {
		return nil
	}
	if p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	parts := bytes.Split(p, []byte{0})
	out := make([]string, len(parts))
	for i, s := range parts {
		out[i] = string(s)
	}
	return out
}

// SplitPathValue splits a WRITE payload `path\0value`. ok is false when the
// payload has no NUL.
func SplitPathValue(p []byte) (path string, value []byte, ok bool) {
	i := bytes.IndexByte(p, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(p[:i]), p[i+1:], true
}

// FirstString returns the payload up to its first NUL (or all of it), as
// xenstored reads a single-string argument.
func FirstString(p []byte) string {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		return string(p[:i])
	}
	return string(p)
}
