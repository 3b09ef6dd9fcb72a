package xenstored

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// rawWatch registers a watch over a raw connection and then never reads.
func rawWatch(t *testing.T, nc net.Conn, path string) {
	t.Helper()
	m := xenstore.Message{Op: xenstore.OpWatch, ReqID: 1, Payload: xenstore.Strings(path, "tok")}
	_, err := nc.Write(m.Append(nil))
	require.NoError(t, err)
}

func TestConn_SocketClientNotReadingEventsIsDropped(t *testing.T) {
	srv, dom0, sock := testServer(t, Config{MaxPendingBytes: 64 << 10})
	ctx := tctx(t)
	nc, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer nc.Close()
	rawWatch(t, nc, "/flood")
	require.Eventually(t, func() bool { return srv.Stats().Connections == 2 }, 5*time.Second, time.Millisecond)
	// Events carry the path, not the value: long paths make them large.
	long := "/flood/" + strings.Repeat("x", 2000)
	for i := 0; i < 20000 && srv.Stats().Connections == 2; i++ {
		require.NoError(t, dom0.Write(ctx, fmt.Sprintf("%s%d", long, i%50), nil))
	}
	require.Eventually(t, func() bool { return srv.Stats().Connections == 1 }, 5*time.Second, time.Millisecond,
		"the daemon kept a client that never reads")
	// Everyone else is fine.
	require.NoError(t, dom0.Write(ctx, "/after", []byte("ok")))
}

func TestConn_DomainNotReadingEventsLosesEventsNotMemory(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{MaxPendingBytes: 64 << 10})
	ctx := tctx(t)
	require.NoError(t, dom0.Introduce(ctx, 5, 1, 1))
	require.NoError(t, dom0.Mkdir(ctx, "/local/domain/5/data"))
	require.NoError(t, dom0.SetPerms(ctx, "/local/domain/5/data", []xenstore.Perm{{Domid: 5, Access: xenstore.AccessNone}}))
	nc, err := srv.ConnectDomain(5)
	require.NoError(t, err)
	defer nc.Close()
	dom := srv.domains.lookup(5)
	rawWatch(t, nc, "data")
	require.Eventually(t, func() bool { return dom.watches.Load() == 1 }, 5*time.Second, time.Millisecond)
	srv.domains.mu.Lock()
	var c *conn
	for x := range dom.conns {
		c = x
	}
	srv.domains.mu.Unlock()
	long := "/local/domain/5/data/" + strings.Repeat("x", 2000)
	for i := 0; i < 200; i++ {
		require.NoError(t, dom0.Write(ctx, fmt.Sprintf("%s%d", long, i%20), nil))
	}
	assert.LessOrEqual(t, c.pending(), 64<<10+xenstore.PayloadMax, "pending output grew past the bound")
	assert.Positive(t, c.droppedTotal.Load())
	assert.Equal(t, 2, srv.Stats().Connections, "the domain stays connected")
}

func TestConn_OversizedPayloadDropsOnlyThatConnection(t *testing.T) {
	srv, dom0, sock := testServer(t, Config{})
	nc, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer nc.Close()
	var hdr [xenstore.HeaderSize]byte
	m := xenstore.Message{Op: xenstore.OpWrite, Payload: make([]byte, xenstore.PayloadMax+1)}
	_, err = nc.Write(m.Append(hdr[:0]))
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = nc.Read(make([]byte, 16))
	require.Error(t, err, "the daemon should close the connection")
	require.NoError(t, dom0.Write(tctx(t), "/still", []byte("fine")))
	requireConsistent(t, srv)
}

func TestListen_ManySimultaneousDials(t *testing.T) {
	_, _, sock := testServer(t, Config{})
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			nc, err := net.Dial("unix", sock)
			if err != nil {
				errs <- err
				return
			}
			c := xenstore.NewClient(nc)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Read(ctx, "/tool"); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestServer_CloseEndsEverything(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 3)
	_, err := g.Watch(ctx, "data", "x")
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	<-dom0.Done()
	<-g.Done()
	assert.Equal(t, 0, srv.Stats().Connections)
}
