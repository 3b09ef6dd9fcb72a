package migrate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// MaxStatusText is the longest error text a status frame carries; longer
// texts are cut.
const MaxStatusText = 1<<16 - 1

// MaxMessageBytes bounds the messages of the connection (the hello and the
// metadata).
const MaxMessageBytes = 1 << 20

// RemoteError is an error the other side reported in a status frame.
type RemoteError struct{ Text string }

// Error returns the remote side's text.
func (e *RemoteError) Error() string { return e.Text }

// Unwrap makes a RemoteError an errdefs.ErrUnavailable: the other side
// could not do the step.
func (e *RemoteError) Unwrap() error { return errdefs.ErrUnavailable }

// WriteStatus writes a status frame: a zero length for a nil err, else the
// length and text of err (cut to MaxStatusText bytes; an empty text is
// sent as "error").
func WriteStatus(w io.Writer, err error) error {
	var text string
	if err != nil {
		text = err.Error()
		if text == "" {
			text = "error"
		}
		if len(text) > MaxStatusText {
			text = text[:MaxStatusText]
		}
	}
	b := make([]byte, 2, 2+len(text))
	binary.BigEndian.PutUint16(b, uint16(len(text)))
	b = append(b, text...)
	if _, werr := w.Write(b); werr != nil {
		return fmt.Errorf("write status: %w: %w", werr, errdefs.ErrUnavailable)
	}
	return nil
}

// ReadStatus reads a status frame. It returns nil for success, a
// *RemoteError for an error status, and an errdefs.ErrUnavailable error
// when the frame could not be read.
func ReadStatus(r io.Reader) error {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("read status: %w: %w", err, errdefs.ErrUnavailable)
	}
	n := binary.BigEndian.Uint16(hdr[:])
	if n == 0 {
		return nil
	}
	text := make([]byte, n)
	if _, err := io.ReadFull(r, text); err != nil {
		return fmt.Errorf("read status text: %w: %w", err, errdefs.ErrUnavailable)
	}
	return &RemoteError{Text: string(text)}
}

// writeMessage writes a message: its 4-byte big-endian length, then b.
func writeMessage(w io.Writer, b []byte) error {
	if len(b) > MaxMessageBytes {
		return fmt.Errorf("message of %d bytes exceeds %d: %w", len(b), MaxMessageBytes, errdefs.ErrInvalid)
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	if _, err := w.Write(append(buf, b...)); err != nil {
		return fmt.Errorf("write message: %w: %w", err, errdefs.ErrUnavailable)
	}
	return nil
}

// readMessage reads a message writeMessage wrote; a longer one than
// MaxMessageBytes is errdefs.ErrInvalid.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read message: %w: %w", err, errdefs.ErrUnavailable)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxMessageBytes {
		return nil, fmt.Errorf("message of %d bytes exceeds %d: %w", n, MaxMessageBytes, errdefs.ErrInvalid)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read message: %w: %w", err, errdefs.ErrUnavailable)
	}
	return b, nil
}
