package xenstore

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultXenbusDevice is where a Linux guest (or dom0 without a xenstored
// socket) reaches xenstore through its kernel: xenbus_dev_frontend.
const DefaultXenbusDevice = "/dev/xen/xenbus"

// OpenXenbus opens the kernel's xenbus device at path ("" means
// DefaultXenbusDevice) and runs the protocol over it, as the guest's own
// connection: relative paths are relative to the guest's home, and the
// guest's permissions and quotas apply. Failures wrap
// errdefs.ErrUnavailable (no device: not a Xen guest, or xenfs absent).
func OpenXenbus(path string) (*Client, error) {
	if path == "" {
		path = DefaultXenbusDevice
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("xenstore: open %s: %w (%w)", path, err, errdefs.ErrUnavailable)
	}
	return NewXenbusClient(f), nil
}

// NewXenbusClient runs the protocol over f, an open xenbus device (or
// anything that, like it, takes whole messages per write). The kernel
// acts on the first message of each write() and drops the rest, so the
// client's combined writes are split here: every write system call holds
// bytes of one message only.
func NewXenbusClient(f *os.File) *Client {
	return NewClient(&xenbusConn{File: f})
}

// xenbusConn is a xenbus device as a net.Conn whose writes never mix two
// messages.
type xenbusConn struct {
	*os.File
	// pos is how far into the current message the bytes written so far
	// reach, size the message's whole length once its header is known (0
	// before), hdr its header as far as written. Write is never called
	// concurrently (Client holds the writer role).
	pos, size int
	hdr       [HeaderSize]byte
}

// Write writes p, one system call per message or part of one.
func (c *xenbusConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := len(p)
		if c.size > 0 && c.size-c.pos < k {
			k = c.size - c.pos
		}
		if c.size == 0 && c.pos+k > HeaderSize {
			// The header completes within p: cut at the message's end.
			var h [HeaderSize]byte
			copy(h[:], c.hdr[:c.pos])
			copy(h[c.pos:], p[:HeaderSize-c.pos])
			size := HeaderSize + int(binary.NativeEndian.Uint32(h[12:16]))
			k = min(k, size-c.pos)
		}
		w, err := c.File.Write(p[:k])
		c.advance(p[:w])
		n += w
		if err != nil {
			return n, err
		}
		p = p[w:]
	}
	return n, nil
}

// advance records that b, the next bytes of the current message, went out.
func (c *xenbusConn) advance(b []byte) {
	for len(b) > 0 {
		if c.pos < HeaderSize {
			k := copy(c.hdr[c.pos:], b)
			c.pos += k
			b = b[k:]
			if c.pos == HeaderSize {
				c.size = HeaderSize + int(binary.NativeEndian.Uint32(c.hdr[12:16]))
			}
		} else {
			k := min(len(b), c.size-c.pos)
			c.pos += k
			b = b[k:]
		}
		if c.size > 0 && c.pos == c.size {
			c.pos, c.size = 0, 0
		}
	}
}

// LocalAddr implements net.Conn.
func (c *xenbusConn) LocalAddr() net.Addr { return xenbusAddr(c.Name()) }

// RemoteAddr implements net.Conn.
func (c *xenbusConn) RemoteAddr() net.Addr { return xenbusAddr(c.Name()) }

// xenbusAddr names a xenbus device as a net.Addr.
type xenbusAddr string

func (a xenbusAddr) Network() string { return "xenbus" }
func (a xenbusAddr) String() string  { return string(a) }
