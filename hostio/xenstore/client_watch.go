package xenstore

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// WatchEvent reports that the node at Path (the watched path or one below
// it, or a special @ path) may have changed. Events can be spurious and
// several changes can be reported once: read the nodes again.
type WatchEvent struct {
	Path  string
	Token string
}

// Watch is one registered watch. Its events are queued without bound and
// without blocking the connection; while an event for a path waits to be
// received, further events for the same path are dropped.
type Watch struct {
	c     *Client
	path  string
	token string

	ch      chan WatchEvent
	wake    chan struct{} // capacity 1
	quit    chan struct{}
	closing atomic.Bool

	mu     sync.Mutex
	queue  []string
	queued map[string]struct{}
	closed bool
}

// watchKey identifies a watch as xenstored does: by path and token.
type watchKey struct{ path, token string }

// Watch registers a watch on path and everything below it. The daemon fires
// one event for path straight away. Several watches may share a token.
func (c *Client) Watch(ctx context.Context, path, token string) (*Watch, error) {
	return c.watch(ctx, path, token, []string{path, token})
}

// WatchDepth is Watch limited to depth levels below path (daemons that
// support the optional third WATCH argument).
func (c *Client) WatchDepth(ctx context.Context, path, token string, depth int) (*Watch, error) {
	if depth < 0 {
		return nil, fmt.Errorf("xenstore %s %s: negative depth %d: %w", OpWatch, path, depth, errdefs.ErrInvalid)
	}
	return c.watch(ctx, path, token, []string{path, token, strconv.Itoa(depth)})
}

func (c *Client) watch(ctx context.Context, path, token string, args []string) (*Watch, error) {
	if !ValidPath(path, true) {
		return nil, fmt.Errorf("xenstore %s %q: invalid path: %w", OpWatch, path, errdefs.ErrInvalid)
	}
	w := &Watch{
		c: c, path: path, token: token,
		ch:     make(chan WatchEvent),
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		queued: make(map[string]struct{}),
	}
	// Register before asking, so the immediate event finds the watch.
	key := watchKey{path, token}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, opError(OpWatch, path, err)
	}
	if _, dup := c.watches[key]; dup {
		c.mu.Unlock()
		return nil, &Error{Op: OpWatch, Path: path, Errno: EEXIST}
	}
	c.watches[key] = w
	c.byToken[token] = append(c.byToken[token], w)
	c.mu.Unlock()
	go w.feed()

	if _, err := c.exchange(ctx, OpWatch, 0, args, nil); err != nil {
		c.unregister(w)
		w.stop()
		return nil, err
	}
	return w, nil
}

// Path returns the watched path.
func (w *Watch) Path() string { return w.path }

// Token returns the watch's token.
func (w *Watch) Token() string { return w.token }

// Events returns the channel of events. It is closed when the watch is
// closed or reset, or the connection is lost.
func (w *Watch) Events() <-chan WatchEvent { return w.ch }

// Close removes the watch (UNWATCH) and closes its channel. Closing again,
// or after the connection or the watch is gone, returns nil.
func (w *Watch) Close(ctx context.Context) error {
	if !w.closing.CompareAndSwap(false, true) {
		return nil
	}
	registered := w.c.unregister(w)
	w.stop()
	if !registered {
		return nil
	}
	_, err := w.c.exchange(ctx, OpUnwatch, 0, []string{w.path, w.token}, nil)
	return err
}

// ResetWatches removes every watch of the connection (RESET_WATCHES) and
// closes all their channels.
func (c *Client) ResetWatches(ctx context.Context) error {
	if _, err := c.exchange(ctx, OpResetWatches, 0, []string{""}, nil); err != nil {
		return err
	}
	c.mu.Lock()
	ws := c.takeWatches()
	c.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	return nil
}

// takeWatches empties the registry and returns its watches; c.mu is held.
func (c *Client) takeWatches() []*Watch {
	ws := make([]*Watch, 0, len(c.watches))
	for _, w := range c.watches {
		ws = append(ws, w)
	}
	clear(c.watches)
	clear(c.byToken)
	return ws
}

// unregister removes w from the registry and reports whether it was there.
func (c *Client) unregister(w *Watch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := watchKey{w.path, w.token}
	if c.watches[key] != w {
		return false
	}
	delete(c.watches, key)
	list := c.byToken[w.token]
	for i, x := range list {
		if x == w {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.byToken, w.token)
	} else {
		c.byToken[w.token] = list
	}
	return true
}

// dispatchEvent queues a WATCH_EVENT payload "path\0token\0" on the watches
// holding its token: those whose path covers the event path, or all of them
// when none does (a special path, say), since spurious events are allowed
// and lost ones are not.
func (c *Client) dispatchEvent(p []byte) {
	i := bytes.IndexByte(p, 0)
	if i < 0 {
		return // malformed: no token
	}
	path, token := string(p[:i]), FirstString(p[i+1:])
	clientWatchEvents.Inc()
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.byToken[token]
	matched := false
	if len(ws) > 1 {
		for _, w := range ws {
			if IsChild(path, w.path) {
				w.enqueue(path)
				matched = true
			}
		}
	}
	if !matched {
		for _, w := range ws {
			w.enqueue(path)
		}
	}
}

// enqueue adds path unless it already waits; it never blocks.
func (w *Watch) enqueue(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if _, dup := w.queued[path]; dup {
		return
	}
	w.queued[path] = struct{}{}
	w.queue = append(w.queue, path)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// feed moves queued events to the channel until the watch stops. A path
// leaves the queue before it is offered, so a change made after the
// receiver got it is always queued again.
func (w *Watch) feed() {
	defer close(w.ch)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 {
			w.mu.Unlock()
			select {
			case <-w.wake:
			case <-w.quit:
				return
			}
			w.mu.Lock()
		}
		path := w.queue[0]
		w.queue[0] = ""
		w.queue = w.queue[1:]
		if len(w.queue) == 0 {
			w.queue = w.queue[:0:0]
		}
		delete(w.queued, path)
		w.mu.Unlock()
		select {
		case w.ch <- WatchEvent{Path: path, Token: w.token}:
		case <-w.quit:
			return
		}
	}
}

// stop ends delivery: queued events are dropped and the channel closes.
func (w *Watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.queue, w.queued = nil, nil
	close(w.quit)
}
