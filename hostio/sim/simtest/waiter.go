package simtest

import (
	"context"
	"strconv"
	"sync"

	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// StateWaiter waits for XenBus state nodes to reach a state, with one
// watch on /local/domain for all of them.
type StateWaiter struct {
	xs    *xenstore.Client
	mu    sync.Mutex
	waits map[string]waiting
}

type waiting struct {
	want xenbus.State
	ch   chan struct{}
}

// NewStateWaiter watches /local/domain on xs.
func NewStateWaiter(ctx context.Context, xs *xenstore.Client) (*StateWaiter, error) {
	w, err := xs.Watch(ctx, "/local/domain", "simbench")
	if err != nil {
		return nil, err
	}
	s := &StateWaiter{xs: xs, waits: make(map[string]waiting)}
	go func() {
		for ev := range w.Events() {
			s.check(ev.Path)
		}
	}()
	return s, nil
}

// Until returns a channel closed once the node at path holds state want.
func (s *StateWaiter) Until(path string, want xenbus.State) <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waits[path] = waiting{want: want, ch: ch}
	s.mu.Unlock()
	s.check(path)
	return ch
}

func (s *StateWaiter) check(path string) {
	s.mu.Lock()
	w, ok := s.waits[path]
	s.mu.Unlock()
	if !ok {
		return
	}
	v, err := s.xs.Read(context.Background(), path)
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(string(v)); err == nil && xenbus.State(n) == w.want {
		s.mu.Lock()
		if cur, ok := s.waits[path]; ok && cur.ch == w.ch {
			delete(s.waits, path)
			close(w.ch)
		}
		s.mu.Unlock()
	}
}
