package qmp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The defaults of the options.
const (
	// DefaultEventBuffer is the capacity of Events.
	DefaultEventBuffer = 64
	// DefaultMaxLine bounds one message of the server (qom-list-types
	// answers with some hundreds of KiB).
	DefaultMaxLine = 16 << 20
)

// Option configures a Client.
type Option func(*options)

type options struct {
	eventBuffer int
	maxLine     int
}

// WithEventBuffer sets the capacity of Events (at least 1). When it is full
// the oldest event is dropped.
func WithEventBuffer(n int) Option {
	return func(o *options) { o.eventBuffer = max(n, 1) }
}

// WithMaxLine bounds the size in bytes of one message of the server; a
// longer one breaks the connection (ErrResourceExhausted).
func WithMaxLine(n int) Option {
	return func(o *options) { o.maxLine = max(n, 64) }
}

// Client is one QMP connection.
type Client struct {
	conn     net.Conn
	greeting Greeting
	events   chan Event
	dropped  atomic.Uint64
	done     chan struct{}
	opts     options

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	nextID  uint64
	pending map[string]chan reply
	order   []string // ids in the order they were sent
	err     error    // why the connection ended, once done
}

// reply is the outcome of one command.
type reply struct {
	ret json.RawMessage
	err error
}

// Dial connects to the QMP socket at path, reads the greeting and
// negotiates capabilities. ctx bounds the whole handshake.
func Dial(ctx context.Context, path string, opts ...Option) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp: dial %s: %w: %w", path, err, errdefs.ErrUnavailable)
	}
	c, err := New(ctx, conn, opts...)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", path, err)
	}
	return c, nil
}

// New runs the handshake on conn, which the Client then owns: it reads the
// greeting and negotiates capabilities, bounded by ctx. On failure conn is
// closed.
func New(ctx context.Context, conn net.Conn, opts ...Option) (*Client, error) {
	o := options{eventBuffer: DefaultEventBuffer, maxLine: DefaultMaxLine}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{conn: conn, opts: o, events: make(chan Event, o.eventBuffer), done: make(chan struct{}),
		pending: make(map[string]chan reply)}
	// A ctx that ends interrupts the reads and writes of the handshake.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	r := bufio.NewReaderSize(conn, 64<<10)
	line, err := readLine(r, o.maxLine)
	if err == nil {
		c.greeting, err = decodeGreeting(line)
	} else {
		err = fmt.Errorf("qmp: read greeting: %w", err)
	}
	if !stop() || ctx.Err() != nil {
		err = fmt.Errorf("qmp: handshake: %w", ctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	go c.readLoop(r)
	if _, err := c.Execute(ctx, "qmp_capabilities", nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("qmp: negotiate capabilities: %w", err)
	}
	return c, nil
}

// Greeting returns the server's greeting.
func (c *Client) Greeting() Greeting { return c.greeting }

// Events returns the channel of the server's asynchronous events. It is
// closed when the connection ends.
func (c *Client) Events() <-chan Event { return c.events }

// Dropped counts the events dropped because Events was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Done is closed when the connection ended (closed, lost, or broken by
// the peer).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, nil while it is up. Close makes it
// ErrCanceled.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection; commands in flight fail.
func (c *Client) Close() error {
	c.fail(fmt.Errorf("qmp: connection closed: %w", errdefs.ErrCanceled))
	<-c.done
	return nil
}

// Execute runs command with args (nil for none, else marshalled to a JSON
// object) and returns the raw value of its return. An error reply is an
// *Error. ctx bounds the wait for the reply; a reply that comes after ctx
// ended is dropped.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        string `json:"id"`
	}{Execute: command, Arguments: args}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	c.nextID++
	req.ID = "xa-" + strconv.FormatUint(c.nextID, 10)
	c.pending[req.ID] = ch
	c.order = append(c.order, req.ID)
	c.mu.Unlock()

	b, err := json.Marshal(req)
	if err != nil {
		c.forget(req.ID)
		return nil, fmt.Errorf("qmp %s: arguments: %v: %w", command, err, errdefs.ErrInvalid)
	}
	if err := c.write(ctx, append(b, '\n')); err != nil {
		c.forget(req.ID)
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	select {
	case rep := <-ch:
		if e, ok := rep.err.(*Error); ok {
			e.Command = command
			return nil, e
		}
		if rep.err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, rep.err)
		}
		return rep.ret, nil
	case <-ctx.Done():
		c.forget(req.ID)
		return nil, fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

// Run is Execute that decodes the return into result (unless result is
// nil).
func (c *Client) Run(ctx context.Context, command string, args, result any) error {
	ret, err := c.Execute(ctx, command, args)
	if err != nil || result == nil {
		return err
	}
	if err := json.Unmarshal(ret, result); err != nil {
		return fmt.Errorf("qmp %s: decode the return: %v: %w", command, err, errdefs.ErrInvalid)
	}
	return nil
}

// Status is the return of query-status.
type Status struct {
	// Status is QEMU's run state: "running", "paused", "prelaunch",
	// "shutdown", ...
	Status  string `json:"status"`
	Running bool   `json:"running"`
}

// QueryStatus runs query-status.
func (c *Client) QueryStatus(ctx context.Context) (Status, error) {
	var st Status
	err := c.Run(ctx, "query-status", nil, &st)
	return st, err
}

// write sends one line, bounded by ctx. A write that fails may have sent
// part of the line, which would garble the stream: the connection is lost
// then, whatever the cause.
func (c *Client) write(ctx context.Context, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	_, err := c.conn.Write(b)
	if !stop() {
		// The deadline was set: clear it for the next write.
		<-fired
		_ = c.conn.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		c.fail(fmt.Errorf("qmp: write interrupted: %w", errdefs.ErrUnavailable))
		return cerr
	}
	err = fmt.Errorf("qmp: write: %v: %w", err, errdefs.ErrUnavailable)
	c.fail(err)
	return err
}

// forget drops a pending command whose caller gave up.
func (c *Client) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
}

// readLoop reads the server's messages until the connection ends.
func (c *Client) readLoop(r *bufio.Reader) {
	for {
		line, err := readLine(r, c.opts.maxLine)
		if err != nil {
			c.fail(err)
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := decodeMessage(line)
		if err != nil {
			c.fail(err)
			break
		}
		if m.isEvent() {
			c.deliver(m.event())
			continue
		}
		c.answer(m)
	}
	close(c.events)
}

// deliver queues ev, dropping the oldest event when Events is full. Only
// the reader sends, so after one receive there is room.
func (c *Client) deliver(ev Event) {
	for {
		select {
		case c.events <- ev:
			return
		default:
		}
		select {
		case <-c.events:
			c.dropped.Add(1)
		default:
		}
	}
}

// answer hands a reply to the command it answers: by id, or, for a reply
// without one, to the oldest command in flight (QMP answers in order).
func (c *Client) answer(m *message) {
	var rep reply
	if m.Error != nil {
		rep.err = &Error{Class: m.Error.Class, Desc: m.Error.Desc}
	} else {
		rep.ret = m.Return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var id string
	if len(m.ID) > 0 {
		if err := json.Unmarshal(m.ID, &id); err != nil {
			return // not one of ours
		}
	}
	if id == "" {
		for len(c.order) > 0 {
			head := c.order[0]
			c.order = c.order[1:]
			if _, ok := c.pending[head]; ok {
				id = head
				break
			}
		}
	}
	ch, ok := c.pending[id]
	if !ok {
		return // given up on, or not one of ours
	}
	delete(c.pending, id)
	ch <- rep
	// Drop the answered and given-up ids from the head of the order.
	for len(c.order) > 0 {
		if _, ok := c.pending[c.order[0]]; ok {
			break
		}
		c.order = c.order[1:]
	}
}

// fail ends the connection with err (the first error wins) and fails the
// commands in flight.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	for id, ch := range c.pending {
		ch <- reply{err: err}
		delete(c.pending, id)
	}
	c.order = nil
	c.mu.Unlock()
	_ = c.conn.Close()
	close(c.done)
}

// readLine reads one line of at most maxLine bytes, without its newline.
func readLine(r *bufio.Reader, maxLine int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			return nil, fmt.Errorf("qmp: message longer than %d bytes: %w", maxLine, errdefs.ErrResourceExhausted)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, net.ErrClosed):
			return nil, fmt.Errorf("qmp: connection closed: %w", errdefs.ErrCanceled)
		default:
			return nil, fmt.Errorf("qmp: connection lost: %v: %w", err, errdefs.ErrUnavailable)
		}
	}
}
