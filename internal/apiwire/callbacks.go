package apiwire

import (
	"context"
	"fmt"
	"sync"
)

// callbacks is the daemon's table of the callback addresses authenticated
// streams announced: the only addresses it dials replies back to, each with
// the fingerprint its certificate must have and its in-flight requests.
type callbacks struct {
	max int

	mu      sync.Mutex
	clients map[string]*client
}

// client is one callback address.
type client struct {
	fingerprint string
	streams     int
	inFlight    int
	// changed is closed (and replaced) whenever inFlight goes down.
	changed chan struct{}
}

func newCallbacks(maxInFlight int) *callbacks {
	return &callbacks{max: maxInFlight, clients: make(map[string]*client)}
}

// register records a stream announcing addr with fingerprint fp. A second
// stream may announce the same address only with the same fingerprint.
func (c *callbacks) register(addr, fp string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[addr]
	if !ok {
		c.clients[addr] = &client{fingerprint: fp, streams: 1, changed: make(chan struct{})}
		return nil
	}
	if cl.fingerprint != fp {
		return fmt.Errorf("callback address %s is registered by another client", addr)
	}
	cl.streams++
	return nil
}

// unregister drops a stream of addr; the address is forgotten, and its
// in-flight count with it, when its last stream ends.
func (c *callbacks) unregister(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[addr]
	if !ok {
		return
	}
	cl.streams--
	if cl.streams <= 0 {
		delete(c.clients, addr)
		close(cl.changed)
	}
}

// fingerprint returns the fingerprint registered for addr.
func (c *callbacks) fingerprint(addr string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[addr]
	if !ok {
		return "", false
	}
	return cl.fingerprint, true
}

// acquire takes n slots of addr, waiting while addr is at its limit, until
// ctx ends. A batch is let through while the client is under the limit, so
// in flight stays under max plus one batch.
func (c *callbacks) acquire(ctx context.Context, addr string, n int) error {
	for {
		c.mu.Lock()
		cl, ok := c.clients[addr]
		if !ok {
			c.mu.Unlock()
			return fmt.Errorf("callback address %s is not registered", addr)
		}
		if cl.inFlight < c.max {
			cl.inFlight += n
			c.mu.Unlock()
			return nil
		}
		changed := cl.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back n slots of addr: the daemon sent n replies there.
func (c *callbacks) release(addr string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.clients[addr]
	if !ok || n <= 0 {
		return
	}
	cl.inFlight = max(cl.inFlight-n, 0)
	close(cl.changed)
	cl.changed = make(chan struct{})
}

// inFlight returns the requests of addr not answered yet.
func (c *callbacks) inFlight(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[addr]; ok {
		return cl.inFlight
	}
	return 0
}
