package hvremote

import (
	"context"
	"fmt"
	"io"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// stream opens a connection of its own for a streaming call; ctx ending
// closes it. The caller ends it with done.
func (c *Client) stream(ctx context.Context, method string) (cc *clientConn, done func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("hvremote: %s: %w", method, err)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, nil, errClosed
	}
	cc, err = c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cc.nc.Close()
		return nil, nil, errClosed
	}
	c.active[cc] = struct{}{}
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { cc.nc.Close() })
	return cc, func() {
		stop()
		c.release(cc, false)
	}, nil
}

// ctxErr prefers the context's error once ctx ended.
func ctxErr(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("hvremote: %s: %w", method, ctx.Err())
	}
	return err
}

// Events returns a channel of the server's domain state changes; it is
// closed when ctx ends or the connection to the server is lost.
func (c *Client) Events(ctx context.Context) (<-chan struct{}, error) {
	cc, done, err := c.stream(ctx, mEvents)
	if err != nil {
		return nil, err
	}
	rep, err := exchange(cc, &request{Method: mEvents})
	if err == nil {
		err = rep.Error.err()
	}
	if err != nil {
		done()
		return nil, ctxErr(ctx, mEvents, err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		defer done()
		buf := make([]byte, 64)
		for {
			n, err := cc.r.Read(buf)
			if n > 0 {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch, nil
}

// Save writes the image of a domain to w.
func (c *Client) Save(ctx context.Context, id hypervisor.DomID, w io.Writer, opts hypervisor.SaveOptions) error {
	return c.readStream(ctx, &request{Method: mSave, ID: id, Save: opts}, w)
}

// ReadPages writes PageBatch records of the given pages to w.
func (c *Client) ReadPages(ctx context.Context, id hypervisor.DomID, pfns []uint64, w io.Writer) error {
	return c.readStream(ctx, &request{Method: mReadPages, ID: id, PFNs: pfns}, w)
}

// sourceReader records the error of the caller's reader, to tell it from
// the connection's.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// readStream sends req and copies the server's frames to w, then reads the
// reply line.
func (c *Client) readStream(ctx context.Context, req *request, w io.Writer) error {
	cc, done, err := c.stream(ctx, req.Method)
	if err != nil {
		return err
	}
	defer done()
	if err := writeLine(cc.w, req); err != nil {
		return ctxErr(ctx, req.Method, fmt.Errorf("hvremote: %s: %w: %w", req.Method, errdefs.ErrUnavailable, err))
	}
	fr := &frameReader{r: cc.r}
	buf := make([]byte, 64<<10)
	for {
		n, rerr := fr.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return ctxErr(ctx, req.Method, fmt.Errorf("hvremote: %s: stream: %w: %w", req.Method, errdefs.ErrUnavailable, rerr))
		}
	}
	rep, err := readReply(cc, req.Method)
	if err != nil {
		return ctxErr(ctx, req.Method, err)
	}
	return rep.Error.err()
}

// Restore sends the image read from r to the server, which restores it
// into domain id.
func (c *Client) Restore(ctx context.Context, id hypervisor.DomID, r io.Reader) (hypervisor.BuildResult, error) {
	cc, done, err := c.stream(ctx, mRestore)
	if err != nil {
		return hypervisor.BuildResult{}, err
	}
	defer done()
	if err := writeLine(cc.w, &request{Method: mRestore, ID: id}); err != nil {
		return hypervisor.BuildResult{}, ctxErr(ctx, mRestore, fmt.Errorf("hvremote: Restore: %w: %w", errdefs.ErrUnavailable, err))
	}
	// The server may answer before it read everything (a corrupt image):
	// send from a goroutine while waiting for the reply.
	src := &sourceReader{r: r}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		fw := frameWriter{cc.w}
		if _, err := io.Copy(fw, src); err != nil {
			// Without the end frame the server sees a truncated stream.
			cc.nc.Close()
			return
		}
		_ = fw.Close()
	}()
	rep, err := readReply(cc, mRestore)
	cc.nc.Close()
	<-sent
	if src.err != nil {
		return hypervisor.BuildResult{}, fmt.Errorf("hvremote: Restore: reading the image: %w", src.err)
	}
	if err != nil {
		return hypervisor.BuildResult{}, ctxErr(ctx, mRestore, err)
	}
	return buildResult(mRestore, rep, rep.Error.err())
}
