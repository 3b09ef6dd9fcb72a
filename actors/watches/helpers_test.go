package watches

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
	"github.com/xenactor/xenactor/supervisors"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 5 * time.Second

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialer hands out dom0 connections to srv that the test can cut, and
// can be made to fail.
type dialer struct {
	srv   *xenstored.Server
	fail  atomic.Bool
	dials atomic.Int32

	mu   sync.Mutex
	last net.Conn
}

func (d *dialer) dial(context.Context) (*xenstore.Client, error) {
	d.dials.Add(1)
	if d.fail.Load() {
		return nil, errors.New("test: dialling refused")
	}
	conn, err := d.srv.ConnectDomain(0)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.last = conn
	d.mu.Unlock()
	return xenstore.NewClient(conn), nil
}

// cut closes the last connection handed out.
func (d *dialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last.Close()
}

// sink collects the notifications.
type sink struct {
	ch chan NeedsAttention
}

func newSink() *sink { return &sink{ch: make(chan NeedsAttention, 1<<16)} }

func (s *sink) notify(ctx context.Context, n NeedsAttention) {
	select {
	case s.ch <- n:
	case <-ctx.Done():
	}
}

// waitFor returns the first notification matching ok, dropping the others.
func (s *sink) waitFor(t *testing.T, what string, ok func(NeedsAttention) bool) NeedsAttention {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case n := <-s.ch:
			if ok(n) {
				return n
			}
		case <-timeout:
			t.Fatalf("no notification %s", what)
		}
	}
}

// poll reports whether a notification of domid with reason why comes
// within d, dropping the others.
func (s *sink) poll(domid uint32, why string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case n := <-s.ch:
			if n.DomID == domid && n.Has(why) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// waitDomain waits for a notification of domid with reason why.
func (s *sink) waitDomain(t *testing.T, domid uint32, why string) NeedsAttention {
	t.Helper()
	return s.waitFor(t, why, func(n NeedsAttention) bool { return n.DomID == domid && n.Has(why) })
}

// fixture is a project xenstored, a dom0 client of the test, and a
// watches actor on it.
type fixture struct {
	srv    *xenstored.Server
	dom0   *xenstore.Client
	dialer *dialer
	sink   *sink
	client Client
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	srv := xenstored.New(xenstored.Config{})
	t.Cleanup(func() { srv.Close() })
	conn, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	dom0 := xenstore.NewClient(conn)
	t.Cleanup(func() { dom0.Close() })
	f := &fixture{srv: srv, dom0: dom0, dialer: &dialer{srv: srv}, sink: newSink()}
	f.client = spawn(t, f.dialer.dial, f.sink, opts...)
	return f
}

// spawn starts a watches actor in a new actor system.
func spawn(t *testing.T, dial Dialer, s *sink, opts ...Option) Client {
	t.Helper()
	system := actor.NewActorSystem()
	opts = append([]Option{WithBackoff(supervisors.Backoff{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond})}, opts...)
	pid := system.Root.Spawn(Props(dial, s.notify, opts...))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(pid).Wait()
		system.Shutdown()
	})
	return NewClient(system, pid)
}

// guest introduces domid, lays out its home as a toolstack does (owned by
// dom0, with guest-writable data, device and control) and returns a
// client connected as the domain.
func (f *fixture) guest(t *testing.T, domid uint32) *xenstore.Client {
	t.Helper()
	ctx := tctx(t)
	home := xenstore.DomainPath(domid)
	require.NoError(t, f.dom0.Introduce(ctx, domid, 1, 1))
	require.NoError(t, f.dom0.Mkdir(ctx, home))
	require.NoError(t, f.dom0.SetPerms(ctx, home, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone},
		{Domid: domid, Access: xenstore.AccessRead}}))
	for _, d := range []string{"data", "device", "control", "attr", "memory"} {
		require.NoError(t, f.dom0.Mkdir(ctx, home+"/"+d))
		require.NoError(t, f.dom0.SetPerms(ctx, home+"/"+d, []xenstore.Perm{{Domid: domid, Access: xenstore.AccessNone}}))
	}
	conn, err := f.srv.ConnectDomain(domid)
	require.NoError(t, err)
	g := xenstore.NewClient(conn)
	t.Cleanup(func() { g.Close() })
	return g
}

// watch watches domid and waits until its watches are registered.
func (f *fixture) watch(t *testing.T, domid uint32) {
	t.Helper()
	require.NoError(t, f.client.WatchDomain(tctx(t), domid))
	f.sink.waitDomain(t, domid, WhyWatched)
}
