package hvremote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const waitFor = 5 * time.Second

func pvConfig() hypervisor.CreateConfig {
	return hypervisor.CreateConfig{UUID: "6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", Type: hypervisor.DomainTypePV,
		MaxVCPUs: 1, MaxMemKiB: 16 << 10}
}

// recordingHotplug remembers the devices it saw and fails with err.
type recordingHotplug struct {
	mu   sync.Mutex
	seen []string
	err  error
}

func (r *recordingHotplug) Add(_ context.Context, d hotplug.Device) error {
	return r.record("add", d)
}

func (r *recordingHotplug) Remove(_ context.Context, d hotplug.Device) error {
	return r.record("remove", d)
}

func (r *recordingHotplug) record(op string, d hotplug.Device) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf("%s %s/%d/%d", op, d.Class, d.Frontend, d.DevID))
	return r.err
}

func TestClient_ErrorKindsCrossTheWire(t *testing.T) {
	hp := &recordingHotplug{}
	path, _ := serve(t, hvsim.New(hvsim.Config{HostMemoryKiB: 64 << 10}), hp)
	c := dial(t, path)
	ctx := t.Context()

	_, err := c.DomainInfo(ctx, 4242)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	var re *hvremote.RemoteError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "not_found", re.Kind)
	require.Contains(t, err.Error(), "4242", "the server's message survives")

	bad := pvConfig()
	bad.MaxVCPUs = 0
	_, err = c.Create(ctx, bad)
	require.True(t, errdefs.IsInvalid(err), "%v", err)

	big := pvConfig()
	big.MaxMemKiB = 1 << 30
	id, err := c.Create(ctx, pvConfig())
	require.NoError(t, err)
	_, err = c.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 16 << 10})
	require.NoError(t, err)
	id2, err := c.Create(ctx, big)
	if err == nil {
		_, err = c.Build(ctx, id2, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 1 << 30})
	}
	require.True(t, errdefs.IsResourceExhausted(err), "%v", err)

	require.NoError(t, c.EnableDirtyLog(ctx, id))
	require.True(t, errdefs.IsBusy(c.EnableDirtyLog(ctx, id)))

	dev := hotplug.Device{Class: hotplug.ClassVBD, Frontend: uint32(id), DevID: 51712}
	require.NoError(t, c.Hotplug().Add(ctx, dev))
	hp.mu.Lock()
	hp.err = fmt.Errorf("no bridge: %w", errdefs.ErrUnavailable)
	hp.mu.Unlock()
	require.True(t, errdefs.IsUnavailable(c.Hotplug().Remove(ctx, dev)))
	hp.mu.Lock()
	require.Equal(t, []string{fmt.Sprintf("add vbd/%d/51712", id), fmt.Sprintf("remove vbd/%d/51712", id)}, hp.seen)
	hp.mu.Unlock()
}

func TestClient_NoHotplugIsNotImplemented(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{}), nil)
	c := dial(t, path)
	err := c.Hotplug().Add(t.Context(), hotplug.Device{Class: hotplug.ClassVIF, Frontend: 1})
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
}

// blockingHV blocks Pause until released, and says when a call entered.
type blockingHV struct {
	hypervisor.Hypervisor
	entered chan struct{}
	release chan struct{}
}

func (b *blockingHV) Pause(ctx context.Context, id hypervisor.DomID) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Hypervisor.Pause(ctx, id)
}

func TestClient_CancelClosesTheCall(t *testing.T) {
	hv := &blockingHV{Hypervisor: hvsim.New(hvsim.Config{}), entered: make(chan struct{}, 1), release: make(chan struct{})}
	path, _ := serve(t, hv, nil)
	c := dial(t, path)
	id, err := c.Create(t.Context(), pvConfig())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Pause(ctx, id) }()
	<-hv.entered
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, errdefs.IsCanceled(err))
	case <-time.After(waitFor):
		t.Fatal("a canceled call did not return")
	}
	close(hv.release)

	// Already canceled: nothing is sent.
	err = c.Unpause(ctx, id)
	require.ErrorIs(t, err, context.Canceled)
	info, err := c.DomainInfo(t.Context(), id)
	require.NoError(t, err, "the client still works")
	require.True(t, info.Paused)
}

func TestClient_ServerCloseEndsEventsAndCalls(t *testing.T) {
	path := socketPath(t)
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	srv := hvremote.NewServer(hvsim.New(hvsim.Config{}), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c := dial(t, path)
	ch, err := c.Events(t.Context())
	require.NoError(t, err)
	_, err = c.ListDomains(t.Context())
	require.NoError(t, err)

	require.NoError(t, srv.Close())
	require.NoError(t, <-done)
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	}, waitFor, time.Millisecond, "the events channel closes with the server")
	_, err = c.ListDomains(t.Context())
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	_, err = c.Events(t.Context())
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
}

func TestClient_RedialsAfterServerRestart(t *testing.T) {
	hv := hvsim.New(hvsim.Config{})
	path := socketPath(t)
	start := func() (*hvremote.Server, chan error) {
		l, err := net.Listen("unix", path)
		require.NoError(t, err)
		srv := hvremote.NewServer(hv, nil)
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		return srv, done
	}
	srv, done := start()
	c := dial(t, path)
	id, err := c.Create(t.Context(), pvConfig())
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.NoError(t, <-done)

	srv, done = start()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
	info, err := c.DomainInfo(t.Context(), id)
	require.NoError(t, err, "a pooled connection the old server closed is redialled")
	require.Equal(t, id, info.ID)
}

func TestClient_ConcurrentCalls(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{}), nil)
	c := dial(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for range 20 {
				if _, err := c.ListDomains(t.Context()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// rawConn is a connection to the server that speaks the wire by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func rawDial(t *testing.T, path string) *rawConn {
	t.Helper()
	nc, err := net.Dial("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(waitFor)))
	return &rawConn{t: t, nc: nc, r: bufio.NewReaderSize(nc, 1<<20)}
}

func (r *rawConn) send(b []byte) {
	r.t.Helper()
	_, err := r.nc.Write(b)
	require.NoError(r.t, err)
}

func (r *rawConn) line() string {
	r.t.Helper()
	l, err := r.r.ReadString('\n')
	require.NoError(r.t, err)
	return l
}

func TestServer_HostileRequests(t *testing.T) {
	hv := hvsim.New(hvsim.Config{})
	path, _ := serve(t, hv, nil, hvremote.WithMaxHeaderBytes(4096))
	rc := rawDial(t, path)
	for _, bad := range []string{
		"not json\n",
		"\x00\xff\xfe junk\n",
		`{"method":"Reboot"}` + "\n",
		`{"method":"Create"}` + "\n",
		`{"method":"Build","id":1}` + "\n",
		`{"method":"Pause","id":1,"extra":true}` + "\n",
		`{"method":"Pause","id":-1}` + "\n",
		`{"method":"Pause"} {"method":"Pause"}` + "\n",
		"\n",
	} {
		rc.send([]byte(bad))
		require.Contains(t, rc.line(), `"kind":"invalid"`, "request %q", bad)
	}
	rc.send([]byte(`{"method":"ListDomains"}` + "\n"))
	require.Contains(t, rc.line(), `"domains"`, "the connection still serves after bad requests")

	// A header over the limit is refused and the connection closed.
	long := make([]byte, 8192)
	for i := range long {
		long[i] = 'a'
	}
	rc.send(append(long, '\n'))
	require.Contains(t, rc.line(), `"kind":"invalid"`)
	_, err := rc.r.ReadByte()
	require.Error(t, err, "the connection is closed")

	// A restore stream that lies about its frame size leaves the domain as
	// it was.
	c := dial(t, path)
	id, err := c.Create(t.Context(), pvConfig())
	require.NoError(t, err)
	rc = rawDial(t, path)
	rc.send(fmt.Appendf(nil, `{"method":"Restore","id":%d}`+"\n", id))
	rc.send([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	require.Contains(t, rc.line(), `"error"`)
	// A stream cut short, too.
	rc = rawDial(t, path)
	rc.send(fmt.Appendf(nil, `{"method":"Restore","id":%d}`+"\n", id))
	rc.send([]byte{0, 0, 0, 10, 'x', 'e', 'n'})
	require.NoError(t, rc.nc.(*net.UnixConn).CloseWrite())
	require.Contains(t, rc.line(), `"error"`)
	info, err := c.DomainInfo(t.Context(), id)
	require.NoError(t, err, "the server survived")
	require.Zero(t, info.MemoryKiB, "the domain was not restored")
}

// failingReader fails after some bytes.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), f.n)
	f.n -= n
	clear(p[:n])
	return n, nil
}

func TestClient_RestoreReaderFails(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{}), nil)
	c := dial(t, path)
	id, err := c.Create(t.Context(), pvConfig())
	require.NoError(t, err)
	_, err = c.Restore(t.Context(), id, &failingReader{n: 3})
	require.ErrorContains(t, err, "disk on fire")
	info, err := c.DomainInfo(t.Context(), id)
	require.NoError(t, err)
	require.Zero(t, info.MemoryKiB)
}

func TestClient_CloseEndsEvents(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{}), nil)
	c, err := hvremote.Dial(t.Context(), path)
	require.NoError(t, err)
	ch, err := c.Events(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	}, waitFor, time.Millisecond, "the events channel closes with the client")
	_, err = c.ListDomains(t.Context())
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return c, err
}

func TestClient_PoolsConnections(t *testing.T) {
	path := socketPath(t)
	inner, err := hvremote.Listen(path)
	require.NoError(t, err)
	l := &countingListener{Listener: inner}
	srv := hvremote.NewServer(hvsim.New(hvsim.Config{}), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
	c := dial(t, path)
	for range 100 {
		_, err := c.ListDomains(t.Context())
		require.NoError(t, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Equal(t, 1, l.n, "sequential calls share one connection")

	_, err = hvremote.Listen(path)
	require.True(t, errdefs.IsExists(err), "a live socket is not replaced: %v", err)
}

func TestClient_WritePageAtLeavesTheRestOfThePage(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{HostMemoryKiB: 64 << 10}), nil)
	c := dial(t, path)
	ctx := t.Context()
	id, err := c.Create(ctx, pvConfig())
	require.NoError(t, err)
	_, err = c.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 16 << 10})
	require.NoError(t, err)

	page := make([]byte, 4096)
	for i := range page {
		page[i] = 'g'
	}
	require.NoError(t, c.WritePage(ctx, id, 9, page))
	require.NoError(t, c.WritePageAt(ctx, id, 9, 100, []byte("dom0")))
	got, err := c.ReadPage(ctx, id, 9)
	require.NoError(t, err)
	copy(page[100:], "dom0")
	require.Equal(t, page, got)

	require.True(t, errdefs.IsInvalid(c.WritePageAt(ctx, id, 9, 4094, []byte("too long"))),
		"a write past the page fails")
}

func TestClient_ReadPageAt(t *testing.T) {
	path, _ := serve(t, hvsim.New(hvsim.Config{HostMemoryKiB: 64 << 10}), nil)
	c := dial(t, path)
	ctx := t.Context()
	id, err := c.Create(ctx, pvConfig())
	require.NoError(t, err)
	_, err = c.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 16 << 10})
	require.NoError(t, err)

	require.NoError(t, c.WritePageAt(ctx, id, 9, 3072, []byte("indexes!")))
	got, err := c.ReadPageAt(ctx, id, 9, 3072, 8)
	require.NoError(t, err)
	require.Equal(t, "indexes!", string(got))
	_, err = c.ReadPageAt(ctx, id, 9, 4090, 16)
	require.True(t, errdefs.IsInvalid(err), "a read past the page fails: %v", err)
	_, err = c.ReadPageAt(ctx, id+100, 9, 0, 16)
	require.True(t, errdefs.IsNotFound(err), "no such domain: %v", err)
}

func TestClient_BoundsConcurrentConnections(t *testing.T) {
	path := socketPath(t)
	inner, err := hvremote.Listen(path)
	require.NoError(t, err)
	l := &countingListener{Listener: inner}
	srv := hvremote.NewServer(hvsim.New(hvsim.Config{}), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
	c := dial(t, path)
	// Far more callers at once than the client keeps connections: they
	// wait for one rather than dial one each.
	var wg sync.WaitGroup
	for range 5 {
		for range 200 {
			wg.Go(func() {
				_, err := c.ListDomains(t.Context())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	}
	l.mu.Lock()
	require.LessOrEqual(t, l.n, 64, "at most 64 connections, reused by later rounds")
	l.mu.Unlock()

	// Page accesses have connections of their own: a flood of them leaves
	// the other calls theirs.
	id, err := c.Create(t.Context(), pvConfig())
	require.NoError(t, err)
	_, err = c.Build(t.Context(), id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 16 << 10})
	require.NoError(t, err)
	for range 200 {
		wg.Go(func() {
			_, err := c.ReadPageAt(t.Context(), id, 1, 0, 16)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.LessOrEqual(t, l.n, 64+8, "at most 8 more for the page accesses")
}
