package watches

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Notifier receives the notifications, one call at a time, from one
// goroutine of the actor. It may block until the notification is handed
// over (a slow consumer only makes more events coalesce); it should return
// when ctx ends, which happens when the actor stops.
type Notifier func(ctx context.Context, n NeedsAttention)

// subscription is one registration of a domain's watches: its events count
// only while it is active. Its field is guarded by the coalescer's mu.
type subscription struct {
	domid  uint32
	active bool
}

// coalescer keeps at most one pending notification per domain and hands
// them to the notifier one at a time, each domain at most once per
// interval. Its memory is bounded by the number of domains with events.
type coalescer struct {
	notify   Notifier
	interval time.Duration

	mu      sync.Mutex
	pending map[uint32]reasons
	queue   []uint32             // domains with pending reasons, oldest first
	last    map[uint32]time.Time // last hand-over, kept for interval
	wake    chan struct{}        // capacity 1
}

func newCoalescer(notify Notifier, interval time.Duration) *coalescer {
	return &coalescer{
		notify:   notify,
		interval: interval,
		pending:  make(map[uint32]reasons),
		last:     make(map[uint32]time.Time),
		wake:     make(chan struct{}, 1),
	}
}

// add marks domid as needing attention for r. When sub is not nil, the
// mark is made only while sub is active.
func (c *coalescer) add(sub *subscription, domid uint32, r reasons) {
	if r == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sub != nil && !sub.active {
		return
	}
	old, ok := c.pending[domid]
	if !ok {
		c.queue = append(c.queue, domid)
	}
	c.pending[domid] = old | r
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// subscribe returns an active subscription for domid.
func (c *coalescer) subscribe(domid uint32) *subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &subscription{domid: domid, active: true}
}

// cancel deactivates sub and drops what its events left pending; the
// reasons of the global watches stay.
func (c *coalescer) cancel(sub *subscription) {
	if sub == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sub.active = false
	r, ok := c.pending[sub.domid]
	if !ok {
		return
	}
	if r &^= domainReasons; r != 0 {
		c.pending[sub.domid] = r
		return
	}
	delete(c.pending, sub.domid)
	c.queue = slices.DeleteFunc(c.queue, func(d uint32) bool { return d == sub.domid })
}

// domainReasons are the reasons that come from per-domain watches.
var domainReasons = ^(reasonOf(WhyIntroduce) | reasonOf(WhyRelease) | reasonOf(WhyRescan))

// next takes the oldest pending notification whose domain is due, or
// returns how long until one is (0 when none is pending). c.mu is held.
func (c *coalescer) next(now time.Time) (NeedsAttention, bool, time.Duration) {
	var wait time.Duration
	for i, d := range c.queue {
		due := c.last[d].Add(c.interval)
		if left := due.Sub(now); left > 0 {
			if wait == 0 || left < wait {
				wait = left
			}
			continue
		}
		r := c.pending[d]
		delete(c.pending, d)
		c.queue = slices.Delete(c.queue, i, i+1)
		if c.interval > 0 {
			c.last[d] = now
		}
		return NeedsAttention{DomID: d, Why: r.String()}, true, 0
	}
	if len(c.queue) == 0 {
		c.queue = nil // let a queue grown by a burst shrink
		for d, t := range c.last {
			if now.Sub(t) >= c.interval {
				delete(c.last, d)
			}
		}
	}
	return NeedsAttention{}, false, wait
}

// run hands the notifications over until ctx ends.
func (c *coalescer) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		c.mu.Lock()
		n, ok, wait := c.next(time.Now())
		c.mu.Unlock()
		if ok {
			c.notify(ctx, n)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var fire <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-c.wake:
		case <-fire:
		case <-ctx.Done():
			return
		}
		timer.Stop()
	}
}
