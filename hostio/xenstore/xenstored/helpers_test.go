package xenstored

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// testServer starts a server on a socket in a short temporary directory
// and returns it with a dom0 client.
func testServer(t *testing.T, cfg Config) (*Server, *xenstore.Client, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "xsd")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "socket")
	l, err := Listen(sock)
	require.NoError(t, err)
	srv := New(cfg)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c := dial(t, sock)
	return srv, c, sock
}

func dial(t *testing.T, sock string) *xenstore.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := xenstore.Dial(ctx, sock)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// guest introduces domid and lays out its home the way a toolstack does:
// /local/domain/<d> owned by dom0 and readable by the guest, with
// guest-owned data, device and control directories. It returns a client
// connected as the domain.
func guest(t *testing.T, srv *Server, dom0 *xenstore.Client, domid uint32) *xenstore.Client {
	t.Helper()
	ctx := tctx(t)
	home := xenstore.DomainPath(domid)
	require.NoError(t, dom0.Introduce(ctx, domid, 1, 1))
	require.NoError(t, dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := tx.Mkdir(ctx, home); err != nil {
			return err
		}
		if err := tx.SetPerms(ctx, home, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone},
			{Domid: domid, Access: xenstore.AccessRead}}); err != nil {
			return err
		}
		for _, d := range []string{"data", "device", "control"} {
			if err := tx.Mkdir(ctx, home+"/"+d); err != nil {
				return err
			}
			if err := tx.SetPerms(ctx, home+"/"+d, []xenstore.Perm{{Domid: domid, Access: xenstore.AccessNone}}); err != nil {
				return err
			}
		}
		return nil
	}))
	nc, err := srv.ConnectDomain(domid)
	require.NoError(t, err)
	c := xenstore.NewClient(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

// nextEvent waits for one event on w.
func nextEvent(t *testing.T, w *xenstore.Watch) xenstore.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		require.True(t, ok, "watch channel closed")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no event on watch %s", w.Path())
		return xenstore.WatchEvent{}
	}
}

// noEvent checks that nothing is queued on w after a round trip on c: the
// daemon queues events before the reply of the request that caused them.
func noEvent(t *testing.T, c *xenstore.Client, w *xenstore.Watch) {
	t.Helper()
	_, err := c.GetDomainPath(tctx(t), 0)
	require.NoError(t, err)
	select {
	case ev := <-w.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(20 * time.Millisecond):
	}
}

func requireConsistent(t *testing.T, srv *Server) {
	t.Helper()
	require.Empty(t, srv.check())
}
