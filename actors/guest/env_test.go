package guest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// simEnv is a simulated host, a booter and a dom0 xenstore client.
type simEnv struct {
	h  *sim.Host
	xs *xenstore.Client
	b  *simtest.Booter
}

func newSimEnv(t *testing.T) simEnv {
	t.Helper()
	h := simtest.NewHost(t)
	xs := simtest.Dom0(t, h)
	b, err := simtest.NewBooter(t.Context(), h)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return simEnv{h: h, xs: xs, b: b}
}

// boot boots image and returns its domid.
func (e simEnv) boot(t *testing.T, image string) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	id, err := e.b.Boot(ctx, image)
	require.NoError(t, err, "boot %s", image)
	return uint32(id)
}

// bootHostile boots image without waiting long for its frontends, which a
// hostile guest may never connect (it writes junk in their states).
func (e simEnv) bootHostile(t *testing.T, image string) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	id, err := e.b.Boot(ctx, image)
	if err != nil {
		require.ErrorIs(t, err, context.DeadlineExceeded, "boot %s", image)
	}
	return uint32(id)
}

// home returns the path of domid's home.
func home(domid uint32) string { return fmt.Sprintf("/local/domain/%d", domid) }

// memStore is an in-memory Store of leaves that counts reads and can hold
// them at a gate.
type memStore struct {
	mu   sync.Mutex
	kv   map[string]string
	gate chan struct{} // when not nil, each walk's first request waits on it

	walks    atomic.Int64 // Directory calls on a home's "control", the first root
	inflight atomic.Int64
	maxIn    atomic.Int64
}

func newMemStore(kv map[string]string) *memStore { return &memStore{kv: kv} }

func (s *memStore) set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv[k] = v
}

func (s *memStore) setGate(g chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = g
}

func (s *memStore) Read(_ context.Context, p string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[p]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", p, errdefs.ErrNotFound)
	}
	return []byte(v), nil
}

func (s *memStore) Directory(ctx context.Context, p string) ([]string, error) {
	if strings.HasSuffix(p, "/control") {
		n := s.inflight.Add(1)
		for {
			m := s.maxIn.Load()
			if n <= m || s.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		s.walks.Add(1)
		s.mu.Lock()
		g := s.gate
		s.mu.Unlock()
		if g != nil {
			select {
			case <-g:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if strings.HasSuffix(p, "/data") { // the last root
		defer s.inflight.Add(-1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	found := false
	for k := range s.kv {
		rest, ok := strings.CutPrefix(k, p+"/")
		if k == p {
			found = true
		}
		if !ok {
			continue
		}
		found = true
		name, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if !found {
		return nil, fmt.Errorf("directory %s: %w", p, errdefs.ErrNotFound)
	}
	slices.Sort(names)
	return names, nil
}

// notifier records announcements.
type notifier struct {
	mu  sync.Mutex
	ids []string
}

func (n *notifier) Changed(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids = append(n.ids, id)
}

func (n *notifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.ids)
}
