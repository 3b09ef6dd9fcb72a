package xenstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// watchOn registers a watch through a hand-driven fake, answering OK and
// sending the immediate event.
func watchOn(t *testing.T, c *Client, f *fake, path, token string) *Watch {
	t.Helper()
	res := async(func() (*Watch, error) { return c.Watch(testCtx(t), path, token) })
	req := f.next()
	require.Equal(t, OpWatch, req.Op)
	require.Equal(t, path+"\x00"+token+"\x00", string(req.Payload))
	f.ok(req)
	f.event(path, token)
	w, err := wait(t, res)
	require.NoError(t, err)
	require.Equal(t, WatchEvent{path, token}, recvEvent(t, w))
	return w
}

func TestWatchEventsInterleaved(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	w := watchOn(t, c, f, "/w", "tok")
	v := watchOn(t, c, f, "/v", "tok") // same token, another path

	res := async(func() ([]byte, error) { return c.Read(ctx, "/x") })
	req := f.next()
	f.event("/w/a", "tok")
	f.event("/elsewhere", "unknown-token")
	f.event("/v/b", "tok")
	f.reply(req, []byte("val"))
	f.event("/w", "tok")
	got, err := wait(t, res)
	require.NoError(t, err)
	require.Equal(t, "val", string(got))

	require.Equal(t, WatchEvent{"/w/a", "tok"}, recvEvent(t, w))
	require.Equal(t, WatchEvent{"/w", "tok"}, recvEvent(t, w))
	require.Equal(t, WatchEvent{"/v/b", "tok"}, recvEvent(t, v))

	// A special path under a shared token reaches every holder.
	f.event(WatchReleaseDomain, "tok")
	require.Equal(t, WatchReleaseDomain, recvEvent(t, w).Path)
	require.Equal(t, WatchReleaseDomain, recvEvent(t, v).Path)

	// Close sends UNWATCH once; the other watch keeps its events.
	cres := async(func() (struct{}, error) { return struct{}{}, w.Close(ctx) })
	req = f.next()
	require.Equal(t, OpUnwatch, req.Op)
	require.Equal(t, "/w\x00tok\x00", string(req.Payload))
	f.ok(req)
	_, err = wait(t, cres)
	require.NoError(t, err)
	requireClosed(t, w)
	require.NoError(t, w.Close(ctx))
	f.none()
	f.event("/v/c", "tok")
	require.Equal(t, WatchEvent{"/v/c", "tok"}, recvEvent(t, v))
}

func TestWatchDuplicateAndDepth(t *testing.T) {
	c, f := newFake(t, okHandler)
	ctx := testCtx(t)
	w, err := c.WatchDepth(ctx, "/d", "t", 2)
	require.NoError(t, err)
	require.Equal(t, "/d", recvEvent(t, w).Path)
	_, err = c.Watch(ctx, "/d", "t")
	require.True(t, errdefs.IsExists(err), "%v", err)
	_, err = c.WatchDepth(ctx, "/d", "t", -1)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	reqs := f.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/d\x00t\x002\x00", string(reqs[0].Payload))
}

func TestWatchFailureUnregisters(t *testing.T) {
	c, _ := newFake(t, func(f *fake, m Message) { f.fail(m, EACCES) })
	ctx := testCtx(t)
	_, err := c.Watch(ctx, "/secret", "t")
	require.True(t, errdefs.IsPermission(err), "%v", err)
	_, err = c.Watch(ctx, "/secret", "t") // not left registered
	require.True(t, errdefs.IsPermission(err), "%v", err)
}

// A watcher that does not read never blocks the connection, and what it
// misses is coalesced by path.
func TestWatchCoalescesSlowWatcher(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	w := watchOn(t, c, f, "/w", "tok")

	for range 1000 {
		f.event("/w/a", "tok")
		f.event("/w/b", "tok")
	}
	f.event("/w/end", "tok")
	// The connection still serves calls while the watcher sleeps; the
	// reply also proves every event before it was dispatched.
	res := async(func() ([]byte, error) { return c.Read(ctx, "/x") })
	f.reply(f.next(), []byte("v"))
	_, err := wait(t, res)
	require.NoError(t, err)

	var got []string
	for {
		ev := recvEvent(t, w)
		got = append(got, ev.Path)
		if ev.Path == "/w/end" {
			break
		}
	}
	require.LessOrEqual(t, len(got), 5, "%v", got)
	require.Contains(t, got, "/w/a")
	require.Contains(t, got, "/w/b")

	// After the receiver took /w/a, a new change to it is queued again.
	f.event("/w/a", "tok")
	require.Equal(t, "/w/a", recvEvent(t, w).Path)
	select {
	case ev := <-w.Events():
		t.Fatalf("unexpected event %v", ev)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestResetWatches(t *testing.T) {
	c, f := newFake(t, okHandler)
	ctx := testCtx(t)
	w1, err := c.Watch(ctx, "/a", "1")
	require.NoError(t, err)
	w2, err := c.Watch(ctx, "/b", "2")
	require.NoError(t, err)
	require.NoError(t, c.ResetWatches(ctx))
	requireClosed(t, w1)
	requireClosed(t, w2)
	require.NoError(t, w1.Close(ctx)) // nothing left to UNWATCH
	f.event("/a", "1")                // ignored
	reqs := f.requests()
	require.Equal(t, OpResetWatches, reqs[len(reqs)-1].Op)
	// The same watch can be set again.
	w3, err := c.Watch(ctx, "/a", "1")
	require.NoError(t, err)
	require.Equal(t, "/a", recvEvent(t, w3).Path)
}

func TestCloseClosesWatches(t *testing.T) {
	c, _ := newFake(t, okHandler)
	w, err := c.Watch(testCtx(t), "/a", "1")
	require.NoError(t, err)
	require.NoError(t, c.Close())
	requireClosed(t, w)
	require.NoError(t, w.Close(testCtx(t)))
}
