package hvsim

import (
	"context"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// notifier fans state changes out to Events subscribers and OnChange hooks.
type notifier struct {
	mu    sync.Mutex
	subs  map[chan struct{}]struct{}
	hooks map[*func(hypervisor.DomID)]struct{}
}

func (n *notifier) init() {
	n.subs = make(map[chan struct{}]struct{})
	n.hooks = make(map[*func(hypervisor.DomID)]struct{})
}

// notify signals every subscriber without blocking, then runs the hooks
// with the domain that changed.
func (n *notifier) notify(id hypervisor.DomID) {
	n.mu.Lock()
	for ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending; they coalesce
		}
	}
	hooks := make([]func(hypervisor.DomID), 0, len(n.hooks))
	for h := range n.hooks {
		hooks = append(hooks, *h)
	}
	n.mu.Unlock()
	for _, h := range hooks {
		h(id)
	}
}

// Events implements hypervisor.Events. A signal follows every domain
// creation, pause, unpause, shutdown (by the toolstack or the guest) and
// destruction.
func (s *Sim) Events(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	s.ev.mu.Lock()
	s.ev.subs[ch] = struct{}{}
	s.ev.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.ev.mu.Lock()
		delete(s.ev.subs, ch)
		close(ch)
		s.ev.mu.Unlock()
	})
	return ch, nil
}

// OnChange registers f to run after every change Events signals, on the
// goroutine that made the change and without the simulator's lock held. f
// must not block. The returned function unregisters f.
func (s *Sim) OnChange(f func()) (cancel func()) {
	return s.OnDomainChange(func(hypervisor.DomID) { f() })
}

// OnDomainChange is OnChange with the id of the domain that changed, which
// the simulated host uses so that it need not list every domain on every
// change (VIRQ_DOM_EXC itself carries no id).
func (s *Sim) OnDomainChange(f func(hypervisor.DomID)) (cancel func()) {
	key := &f
	s.ev.mu.Lock()
	s.ev.hooks[key] = struct{}{}
	s.ev.mu.Unlock()
	return func() {
		s.ev.mu.Lock()
		delete(s.ev.hooks, key)
		s.ev.mu.Unlock()
	}
}
