package xenstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// ErrClosed is the reason Err reports after Close; it wraps errdefs.ErrUnavailable.
var ErrClosed = fmt.Errorf("xenstore: connection closed: %w", errdefs.ErrUnavailable)

// finishGrace bounds the rest of a write whose context ended mid-frame.
const finishGrace = 2 * time.Second

// dialRetryLimit bounds Dial's retries when ctx has no deadline, so a stale
// socket of a dead daemon does not hang the caller forever.
const dialRetryLimit = 10 * time.Second

// DefaultSocketPath returns $XENSTORED_PATH if set, else
// $XENSTORED_RUNDIR/socket if that is set, else DefaultSocket.
func DefaultSocketPath() string {
	if p := os.Getenv("XENSTORED_PATH"); p != "" {
		return p
	}
	if d := os.Getenv("XENSTORED_RUNDIR"); d != "" {
		return d + "/socket"
	}
	return DefaultSocket
}

// Dial connects to the xenstored Unix socket at path ("" means
// DefaultSocketPath()). Upstream daemons listen with a backlog of one, so
// EAGAIN and ECONNREFUSED are retried with a short jittered backoff until ctx
// ends (or, without a deadline, for at most ten seconds). Failures wrap
// errdefs.ErrUnavailable, or the context's error when ctx ended.
func Dial(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = DefaultSocketPath()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialRetryLimit)
		defer cancel()
	}
	var d net.Dialer
	backoff := time.Millisecond
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return NewClient(conn), nil
		}
		if ctx.Err() == nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("xenstore: dial %s: %w (%w)", path, err, errdefs.ErrUnavailable)
		}
		if cerr := sleep(ctx, &backoff); cerr != nil {
			return nil, fmt.Errorf("xenstore: dial %s: %w (last error: %w)", path, cerr, err)
		}
	}
}

// Client is one xenstore connection shared by any number of goroutines.
// Requests are multiplexed by req_id; the embedded Handle runs operations
// outside any transaction (c.Read(ctx, path)).
type Client struct {
	Handle

	conn net.Conn
	br   *bufio.Reader
	hdr  [HeaderSize]byte // reader goroutine only

	// Writes are combined: a caller appends its frame to wq and, if no one
	// is writing, takes the writer role and writes everything queued until
	// wq is empty, so concurrent callers share one write system call.
	wmu     sync.Mutex
	wq      []byte        // frames not yet written, under wmu
	writing bool          // someone holds the writer role, under wmu
	wspare  []byte        // the writer's spare buffer, writer role only
	wabort  chan struct{} // abortWrite's signal, writer role only
	abortFn func()

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]*call
	watches map[watchKey]*Watch
	byToken map[string][]*Watch
	err     error
	done    chan struct{}
}

// call is one request waiting for its reply; calls are pooled.
type call struct {
	done  chan struct{} // capacity 1: signalled once per use
	reply Message
	err   error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// NewClient runs the protocol over conn (a Unix socket, or any in-process
// connection such as a domain's) and starts the reader goroutine.
func NewClient(conn net.Conn) *Client {
	c := &Client{
		conn:    conn,
		br:      bufio.NewReaderSize(conn, HeaderSize+PayloadMax),
		wq:      make([]byte, 0, HeaderSize+PayloadMax),
		wspare:  make([]byte, 0, HeaderSize+PayloadMax),
		wabort:  make(chan struct{}, 1),
		pending: make(map[uint32]*call),
		watches: make(map[watchKey]*Watch),
		byToken: make(map[string][]*Watch),
		done:    make(chan struct{}),
	}
	c.Handle = Handle{c: c}
	c.abortFn = c.abortWrite
	go c.readLoop()
	return c
}

// Close closes the connection. Pending and later calls fail with ErrClosed
// and every Watch channel closes. Closing again returns nil.
func (c *Client) Close() error {
	if c.fail(ErrClosed) {
		return c.conn.Close()
	}
	return nil
}

// Done returns a channel closed when the connection is gone, by Close or
// because the peer dropped it.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection is gone, or nil while it is up. A dropped
// or broken connection gives an error wrapping errdefs.ErrUnavailable.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// roundTrip sends op with a payload of args (each NUL-terminated) followed
// by tail, and waits for the reply. Errors name the request by its first
// string: args[0], or the first string of tail when args is empty.
func (c *Client) roundTrip(ctx context.Context, op Op, tx uint32, args []string, tail []byte) (Message, error) {
	n := len(tail)
	for _, a := range args {
		n += len(a) + 1
	}
	errPath := func() string {
		if len(args) > 0 {
			return args[0]
		}
		return FirstString(tail)
	}
	if n > PayloadMax {
		return Message{}, fmt.Errorf("xenstore %s %s: payload of %d bytes exceeds %d: %w",
			op, errPath(), n, PayloadMax, errdefs.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return Message{}, opError(op, errPath(), err)
	}
	cl := callPool.Get().(*call)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		callPool.Put(cl)
		return Message{}, opError(op, errPath(), err)
	}
	id := c.allocID()
	c.pending[id] = cl
	c.mu.Unlock()

	if err := c.write(ctx, op, id, tx, n, args, tail); err != nil {
		c.forget(id, cl)
		return Message{}, opError(op, errPath(), err)
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		c.forget(id, cl)
		return Message{}, opError(op, errPath(), ctx.Err())
	}
	m, err := cl.reply, cl.err
	cl.reply, cl.err = Message{}, nil
	callPool.Put(cl)
	if err != nil {
		return Message{}, opError(op, errPath(), err)
	}
	if m.Op == OpError {
		path := errPath()
		if op == OpTransactionStart || op == OpTransactionEnd {
			path = ""
		}
		return m, &Error{Op: op, Path: path, Errno: Errno(FirstString(m.Payload))}
	}
	return m, nil
}

func opError(op Op, path string, err error) error {
	if path == "" {
		return fmt.Errorf("xenstore %s: %w", op, err)
	}
	return fmt.Errorf("xenstore %s %s: %w", op, path, err)
}

// allocID returns a free non-zero req_id; c.mu is held.
func (c *Client) allocID() uint32 {
	for {
		c.nextID++
		if c.nextID == 0 {
			continue
		}
		if _, busy := c.pending[c.nextID]; !busy {
			return c.nextID
		}
	}
}

// forget withdraws a call that will not wait for its reply. If the reader (or
// fail) already claimed it, its signal is drained first so the call can be
// reused; a late reply is thereby discarded.
func (c *Client) forget(id uint32, cl *call) {
	c.mu.Lock()
	mine := c.pending[id] == cl
	if mine {
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if !mine {
		<-cl.done
	}
	cl.reply, cl.err = Message{}, nil
	callPool.Put(cl)
}

// errUnsent says a write was abandoned (its context ended) before any byte
// of it went out.
var errUnsent = errors.New("xenstore: write abandoned before anything was sent")

// write queues one request frame and, unless another caller is writing
// already, writes everything queued (see Client.wq).
func (c *Client) write(ctx context.Context, op Op, id, tx uint32, n int, args []string, tail []byte) error {
	c.wmu.Lock()
	select {
	case <-c.done:
		c.wmu.Unlock()
		return c.Err()
	default:
	}
	c.wq = appendFrame(c.wq, op, id, tx, n, args, tail)
	if c.writing {
		c.wmu.Unlock()
		return nil
	}
	c.writing = true
	// Let the callers the reader just woke queue their frames first: they
	// wait on this goroutine's processor, and would otherwise each write
	// alone once this write returns.
	c.wmu.Unlock()
	runtime.Gosched()
	c.wmu.Lock()
	return c.drain(ctx)
}

func appendFrame(buf []byte, op Op, id, tx uint32, n int, args []string, tail []byte) []byte {
	buf = binary.NativeEndian.AppendUint32(buf, uint32(op))
	buf = binary.NativeEndian.AppendUint32(buf, id)
	buf = binary.NativeEndian.AppendUint32(buf, tx)
	buf = binary.NativeEndian.AppendUint32(buf, uint32(n))
	for _, a := range args {
		buf = append(buf, a...)
		buf = append(buf, 0)
	}
	return append(buf, tail...)
}

// drain writes the queue until it is empty, holding the writer role; c.wmu
// is held on entry and released on return. If ctx ends before anything of a
// batch went out, the batch goes back to the front of the queue and a
// goroutine carries on writing it for the other callers.
func (c *Client) drain(ctx context.Context) error {
	for {
		buf := c.wq
		c.wq = c.wspare[:0]
		c.wmu.Unlock()
		err := c.writeOut(ctx, buf)
		c.wmu.Lock()
		switch {
		case errors.Is(err, errUnsent):
			c.wq = append(buf, c.wq...)
			c.wspare = c.wspare[:0]
			go func() {
				c.wmu.Lock()
				_ = c.drain(context.Background())
			}()
			c.wmu.Unlock()
			return ctx.Err()
		case err != nil:
			c.writing = false
			c.wmu.Unlock()
			return err
		}
		// The next batch is the queue, which may live in wspare: keep
		// buf as the spare, or none, never wspare again.
		if cap(buf) <= 64<<10 {
			c.wspare = buf[:0]
		} else {
			c.wspare = nil
		}
		if len(c.wq) == 0 {
			c.writing = false
			c.wmu.Unlock()
			return nil
		}
	}
}

// writeOut writes buf. If ctx ends while the write blocks, the write
// deadline is moved to the past; a batch already partly written is still
// finished, within finishGrace, since a partial frame would break the
// connection.
func (c *Client) writeOut(ctx context.Context, buf []byte) error {
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.abortFn)
	}
	w, err := c.conn.Write(buf)
	if stop != nil && !stop() {
		<-c.wabort
		if err != nil && w > 0 {
			_ = c.conn.SetWriteDeadline(time.Now().Add(finishGrace))
			var more int
			more, err = c.conn.Write(buf[w:])
			w += more
		}
		_ = c.conn.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && w == 0 {
		return errUnsent
	}
	if cerr := c.Err(); cerr != nil {
		return cerr // closed under us
	}
	err = fmt.Errorf("xenstore: write: %w (%w)", err, errdefs.ErrUnavailable)
	if w > 0 {
		err = fmt.Errorf("xenstore: write interrupted after %d of %d bytes: %w", w, len(buf), err)
	}
	c.fail(err)
	return err
}

// abortWrite unblocks a write whose context ended.
func (c *Client) abortWrite() {
	_ = c.conn.SetWriteDeadline(time.Unix(1, 0))
	c.wabort <- struct{}{}
}

// readLoop reads messages until the connection fails, handing replies to
// their callers by req_id and watch events to watches by token.
func (c *Client) readLoop() {
	for {
		m, err := c.readMessage()
		if err != nil {
			what := "read"
			switch {
			case errors.Is(err, ErrPayloadTooLarge):
				what = "malformed message from daemon"
			case err == io.EOF:
				what = "connection closed by peer"
			}
			c.fail(fmt.Errorf("xenstore: %s: %w (%w)", what, err, errdefs.ErrUnavailable))
			return
		}
		if m.Op == OpWatchEvent {
			c.dispatchEvent(m.Payload)
			continue
		}
		c.mu.Lock()
		if cl := c.pending[m.ReqID]; cl != nil {
			delete(c.pending, m.ReqID)
			cl.reply = m
			cl.done <- struct{}{}
		}
		c.mu.Unlock()
	}
}

// readMessage is ReadMessage with the header buffer kept in c.
func (c *Client) readMessage() (Message, error) {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return Message{}, err
	}
	h := DecodeHeader(c.hdr[:])
	if h.Len > PayloadMax {
		return Message{}, ErrPayloadTooLarge
	}
	m := Message{Op: h.Op, ReqID: h.ReqID, TxID: h.TxID, Payload: make([]byte, h.Len)}
	if _, err := io.ReadFull(c.br, m.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	return m, nil
}

// fail records why the connection is gone, fails pending calls, closes
// every watch and the connection. Only the first call has effect; it
// reports whether it was the first.
func (c *Client) fail(err error) bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return false
	}
	c.err = err
	close(c.done)
	for id, cl := range c.pending {
		delete(c.pending, id)
		cl.err = err
		cl.done <- struct{}{}
	}
	ws := c.takeWatches()
	c.mu.Unlock()
	if err != ErrClosed {
		_ = c.conn.Close()
	}
	for _, w := range ws {
		w.stop()
	}
	return true
}
