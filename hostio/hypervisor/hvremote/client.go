package hvremote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// maxCalls is how many calls a Client has in flight at once, each on its
// own connection; more wait for one to end. Without the bound, thousands
// of VMs' actors calling at once (a console daemon polling each domain's
// ring) each dialled a connection, used it once and closed it: a socket
// per caller in both processes and a dial per call. The page accesses (a
// console daemon's ring reads and writes) have maxPageCalls of their own
// and never take the others' turn: thousands of consoles polling do not
// hold up the VMs' operations. maxIdle is how many idle connections it
// keeps: as many as may be in use, so that calls reuse them.
const (
	maxCalls     = 64
	maxPageCalls = 8
	maxIdle      = maxCalls + maxPageCalls
)

// Client is the hypervisor (and hotplug) of a Server, over its Unix socket.
// It implements hypervisor.Hypervisor; it is safe for concurrent use.
type Client struct {
	path string

	// calls holds a token per call in flight (maxCalls), pageCalls per
	// page access in flight (maxPageCalls).
	calls, pageCalls chan struct{}

	mu     sync.Mutex
	idle   []*clientConn
	active map[*clientConn]struct{} // in a call or a stream
	closed bool
}

var _ hypervisor.Hypervisor = (*Client)(nil)

// clientConn is one connection with its buffers.
type clientConn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// Dial connects to the server at path (a Unix socket). Failures wrap
// errdefs.ErrUnavailable.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path, active: make(map[*clientConn]struct{}), calls: make(chan struct{}, maxCalls),
		pageCalls: make(chan struct{}, maxPageCalls)}
	cc, _, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	c.release(cc, true)
	return c, nil
}

// Close closes every connection: calls in progress fail, Events channels
// close, and later calls fail with errdefs.ErrUnavailable.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	conns := c.idle
	c.idle = nil
	for cc := range c.active {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	for _, cc := range conns {
		cc.nc.Close()
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("hvremote: dial %s: %w", c.path, ctx.Err())
		}
		return nil, fmt.Errorf("hvremote: dial %s: %w: %w", c.path, errdefs.ErrUnavailable, err)
	}
	return &clientConn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil
}

var errClosed = fmt.Errorf("hvremote: client closed: %w", errdefs.ErrUnavailable)

// get returns an idle connection (pooled true) or a new one, held until
// release.
func (c *Client) get(ctx context.Context) (cc *clientConn, pooled bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, errClosed
	}
	if n := len(c.idle); n > 0 {
		cc = c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.active[cc] = struct{}{}
		c.mu.Unlock()
		return cc, true, nil
	}
	c.mu.Unlock()
	if cc, err = c.dial(ctx); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cc.nc.Close()
		return nil, false, errClosed
	}
	c.active[cc] = struct{}{}
	return cc, false, nil
}

// release returns a healthy connection to the pool and closes any other.
func (c *Client) release(cc *clientConn, healthy bool) {
	c.mu.Lock()
	delete(c.active, cc)
	if healthy && !c.closed && len(c.idle) < maxIdle {
		c.idle = append(c.idle, cc)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	cc.nc.Close()
}

// errStale is a pooled connection the server had closed: nothing of the
// reply arrived, so the request is sent again on a new connection.
var errStale = errors.New("stale connection")

// call sends req and reads the reply into rep; it returns the transport's
// error or the server's.
func (c *Client) call(ctx context.Context, req *request) (*reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hvremote: %s: %w", req.Method, err)
	}
	slots := c.calls
	switch req.Method {
	case mReadPage, mReadPageAt, mWritePage, mWritePageAt:
		slots = c.pageCalls
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("hvremote: %s: waiting for a connection: %w", req.Method, ctx.Err())
	}
	for retry := true; ; retry = false {
		cc, pooled, err := c.get(ctx)
		if err != nil {
			return nil, err
		}
		rep, err := c.roundTrip(ctx, cc, req)
		c.release(cc, err == nil)
		if err == nil {
			return rep, rep.Error.err()
		}
		if errors.Is(err, errStale) && pooled && retry {
			continue
		}
		return nil, err
	}
}

// roundTrip writes req and reads the reply line on cc; ctx ending closes
// the connection.
func (c *Client) roundTrip(ctx context.Context, cc *clientConn, req *request) (*reply, error) {
	stop := context.AfterFunc(ctx, func() { cc.nc.Close() })
	rep, err := exchange(cc, req)
	if !stop() {
		return nil, fmt.Errorf("hvremote: %s: %w", req.Method, ctx.Err())
	}
	return rep, err
}

func exchange(cc *clientConn, req *request) (*reply, error) {
	if err := writeLine(cc.w, req); err != nil {
		return nil, fmt.Errorf("hvremote: %s: %w: %w: %w", req.Method, errStale, errdefs.ErrUnavailable, err)
	}
	return readReply(cc, req.Method)
}

// readReply reads and decodes a reply line.
func readReply(cc *clientConn, method string) (*reply, error) {
	line, err := readLine(cc.r, maxReplyBytes)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: %w", errStale, err)
		}
		return nil, fmt.Errorf("hvremote: %s: reply: %w: %w", method, errdefs.ErrUnavailable, err)
	}
	var rep reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("hvremote: %s: malformed reply: %w: %w", method, errdefs.ErrUnavailable, err)
	}
	return &rep, nil
}

// Hotplug returns the server's hotplug step.
func (c *Client) Hotplug() hotplug.Hotplug { return remoteHotplug{c} }

type remoteHotplug struct{ c *Client }

func (h remoteHotplug) Add(ctx context.Context, d hotplug.Device) error {
	_, err := h.c.call(ctx, &request{Method: mHotplugAdd, Device: &d})
	return err
}

func (h remoteHotplug) Remove(ctx context.Context, d hotplug.Device) error {
	_, err := h.c.call(ctx, &request{Method: mHotplugRemove, Device: &d})
	return err
}
