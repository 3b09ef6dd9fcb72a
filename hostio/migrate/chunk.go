package migrate

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// chunkBytes is the most bytes of the memory stream one chunk carries.
const chunkBytes = 256 << 10

// chunkWriter frames the memory stream in chunks (a 4-byte big-endian
// length, then the bytes), so the stream ends where the source says,
// whatever the destination's restore reads ahead: Close writes the empty
// chunk that ends it.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func newChunkWriter(w io.Writer) *chunkWriter {
	return &chunkWriter{w: w, buf: make([]byte, 4, 4+chunkBytes)}
}

// Write buffers p, sending full chunks.
func (c *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 4+chunkBytes-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(c.buf) == 4+chunkBytes {
			if err := c.Flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Flush sends the buffered bytes as a chunk, if any.
func (c *chunkWriter) Flush() error {
	if len(c.buf) == 4 {
		return nil
	}
	binary.BigEndian.PutUint32(c.buf, uint32(len(c.buf)-4))
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:4]
	if err != nil {
		return fmt.Errorf("memory stream: %w: %w", err, errdefs.ErrUnavailable)
	}
	return nil
}

// Close flushes and ends the stream with an empty chunk.
func (c *chunkWriter) Close() error {
	if err := c.Flush(); err != nil {
		return err
	}
	if _, err := c.w.Write([]byte{0, 0, 0, 0}); err != nil {
		return fmt.Errorf("memory stream end: %w: %w", err, errdefs.ErrUnavailable)
	}
	return nil
}

// chunkReader reads what chunkWriter framed; it returns io.EOF at the
// empty chunk and io.ErrUnexpectedEOF when the connection ends first.
type chunkReader struct {
	r    io.Reader
	left int
	done bool
}

// Read reads the bytes of the current chunk, and the next chunk's header
// when it is spent.
func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("memory stream: %w: %w", err, errdefs.ErrUnavailable)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > chunkBytes {
			return 0, fmt.Errorf("memory stream: chunk of %d bytes exceeds %d: %w", n, chunkBytes, errdefs.ErrInvalid)
		}
		c.left, c.done = int(n), n == 0
	}
	n, err := c.r.Read(p[:min(len(p), c.left)])
	c.left -= n
	if err == io.EOF {
		err = fmt.Errorf("memory stream: %w: %w", io.ErrUnexpectedEOF, errdefs.ErrUnavailable)
	}
	return n, err
}
