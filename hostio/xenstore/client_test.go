package xenstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestOutOfOrderReplies(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	const n = 32
	results := make(chan error, n)
	for i := range n {
		go func() {
			path := fmt.Sprintf("/a/%d", i)
			v, err := c.Read(ctx, path)
			if err == nil && string(v) != "value of "+path {
				err = fmt.Errorf("read %s got %q", path, v)
			}
			results <- err
		}()
	}
	reqs := make([]Message, n)
	ids := map[uint32]bool{}
	for i := range reqs {
		reqs[i] = f.next()
		require.Equal(t, OpRead, reqs[i].Op)
		require.Zero(t, reqs[i].TxID)
		require.False(t, ids[reqs[i].ReqID], "req_id reused")
		ids[reqs[i].ReqID] = true
	}
	for i := n - 1; i >= 0; i-- { // answer in reverse order
		f.reply(reqs[i], []byte("value of "+FirstString(reqs[i].Payload)))
	}
	for range n {
		require.NoError(t, <-results)
	}
}

func TestUnknownReqIDIgnored(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	res := async(func() ([]byte, error) { return c.Read(ctx, "/x") })
	req := f.next()
	f.send(Message{Op: OpRead, ReqID: req.ReqID + 1000, Payload: []byte("stray")})
	f.reply(req, []byte("mine"))
	v, err := wait(t, res)
	require.NoError(t, err)
	require.Equal(t, "mine", string(v))
	require.NoError(t, c.Err())
}

func TestCallDeadline(t *testing.T) {
	c, f := newFake(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Read(ctx, "/slow")
	require.Error(t, err)
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	req := f.next()

	// The late reply is discarded; the next call gets its own.
	f.reply(req, []byte("late"))
	res := async(func() ([]byte, error) { return c.Read(testCtx(t), "/b") })
	req2 := f.next()
	f.reply(req2, []byte("b"))
	v, err := wait(t, res)
	require.NoError(t, err)
	require.Equal(t, "b", string(v))
}

func TestCallCanceled(t *testing.T) {
	c, f := newFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	res := async(func() ([]byte, error) { return c.Read(ctx, "/slow") })
	f.next()
	cancel()
	_, err := wait(t, res)
	require.True(t, errdefs.IsCanceled(err), "%v", err)

	_, err = c.Read(ctx, "/x") // already canceled: nothing is sent
	require.True(t, errdefs.IsCanceled(err), "%v", err)
	f.none()
}

// A write the peer does not take is abandoned when ctx ends; a frame not
// started leaves the connection usable.
func TestBlockedWriteDeadline(t *testing.T) {
	a, b := net.Pipe()
	c := NewClient(a)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Read(ctx, "/x")
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	require.NoError(t, c.Err())

	f := &fake{t: t, conn: b, reqs: make(chan Message, 16), handler: func(f *fake, m Message) {
		f.reply(m, []byte("v"))
	}}
	go f.loop()
	defer b.Close()
	v, err := c.Read(testCtx(t), "/y")
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
}

func TestPeerDrop(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	wres := async(func() (*Watch, error) { return c.Watch(ctx, "/w", "tok") })
	f.ok(f.next())
	w, err := wait(t, wres)
	require.NoError(t, err)

	res := async(func() ([]byte, error) { return c.Read(ctx, "/pending") })
	f.next()
	require.NoError(t, f.conn.Close())

	_, err = wait(t, res)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	require.True(t, errdefs.IsUnavailable(c.Err()), "%v", c.Err())
	requireClosed(t, w)
	require.NoError(t, w.Close(ctx))

	_, err = c.Read(ctx, "/later")
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	_, err = c.Watch(ctx, "/w2", "tok")
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	require.NoError(t, c.Close())
}

func TestClose(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	res := async(func() ([]byte, error) { return c.Read(ctx, "/pending") })
	f.next()
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err := wait(t, res)
	require.ErrorIs(t, err, ErrClosed)
	require.True(t, errdefs.IsUnavailable(err))
	require.ErrorIs(t, c.Err(), ErrClosed)
	<-c.Done()
}

func TestMalformedFrame(t *testing.T) {
	c, f := newFake(t, nil)
	ctx := testCtx(t)
	res := async(func() ([]byte, error) { return c.Read(ctx, "/x") })
	f.next()
	hdr := (&Message{Op: OpRead, ReqID: 1}).Append(nil)
	hdr[12], hdr[13] = 0xff, 0xff // length 65535
	_, _ = f.conn.Write(hdr)
	_, err := wait(t, res)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	<-c.Done()
	require.ErrorIs(t, c.Err(), ErrPayloadTooLarge)
	require.Contains(t, c.Err().Error(), "malformed")
}

func TestErrorMapping(t *testing.T) {
	c, _ := newFake(t, func(f *fake, m Message) {
		switch FirstString(m.Payload) {
		case "/missing":
			f.fail(m, ENOENT)
		case "/full":
			f.fail(m, ENOSPC)
		case "/oquota":
			f.fail(m, EQUOTA)
		case "/denied":
			f.fail(m, EACCES)
		default:
			f.reply(m, []byte("v"))
		}
	})
	ctx := testCtx(t)

	_, err := c.Read(ctx, "/missing")
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	var xe *Error
	require.ErrorAs(t, err, &xe)
	require.Equal(t, Error{Op: OpRead, Path: "/missing", Errno: ENOENT}, *xe)
	require.False(t, IsQuotaError(err))

	ok, err := c.Exists(ctx, "/missing")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = c.Exists(ctx, "/there")
	require.NoError(t, err)
	require.True(t, ok)
	_, err = c.Exists(ctx, "/denied")
	require.True(t, errdefs.IsPermission(err), "%v", err)

	err = c.Write(ctx, "/full", []byte("x"))
	require.True(t, IsQuotaError(err), "%v", err)
	require.True(t, errdefs.IsResourceExhausted(err))
	require.True(t, IsQuotaError(fmt.Errorf("wrapped: %w", err)))
	require.True(t, IsQuotaError(c.Mkdir(ctx, "/oquota")))
	require.False(t, IsQuotaError(errors.New("ENOSPC")))

	_, err = c.Do(ctx, Message{Op: OpGetPerms, Payload: Strings("/denied")})
	require.ErrorAs(t, err, &xe)
	require.Equal(t, Error{Op: OpGetPerms, Path: "/denied", Errno: EACCES}, *xe)
}

func TestLocalValidation(t *testing.T) {
	c, f := newFake(t, okHandler)
	ctx := testCtx(t)
	big := make([]byte, PayloadMax-len("/k\x00")+1)
	err := c.Write(ctx, "/k", big)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	_, err = c.Do(ctx, Message{Op: OpWrite, Payload: make([]byte, PayloadMax+1)})
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	for _, p := range []string{"", "/a//b", "/a/", "/a b", strings.Repeat("a", RelPathMax+1)} {
		_, err = c.Read(ctx, p)
		require.True(t, errdefs.IsInvalid(err), "%q: %v", p, err)
	}
	_, err = c.Watch(ctx, "/bad//path", "t")
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	require.Empty(t, f.requests(), "nothing may reach the daemon")

	// Exactly PayloadMax is fine, and relative paths pass through.
	require.NoError(t, c.Write(ctx, "/k", big[:len(big)-1]))
	require.NoError(t, c.Write(ctx, "device/vif", nil))
	reqs := f.requests()
	require.Len(t, reqs, 2)
	require.Len(t, reqs[0].Payload, PayloadMax)
	require.Equal(t, "device/vif\x00", string(reqs[1].Payload))
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv("XENSTORED_PATH", "")
	t.Setenv("XENSTORED_RUNDIR", "")
	require.Equal(t, DefaultSocket, DefaultSocketPath())
	t.Setenv("XENSTORED_RUNDIR", "/run/xs")
	require.Equal(t, "/run/xs/socket", DefaultSocketPath())
	t.Setenv("XENSTORED_PATH", "/tmp/xs.sock")
	require.Equal(t, "/tmp/xs.sock", DefaultSocketPath())
}

// serveOK accepts connections on l and answers every request with "v".
func serveOK(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				m, err := ReadMessage(conn)
				if err != nil {
					return
				}
				m.Payload = []byte("v")
				if _, err := conn.Write(m.Append(nil)); err != nil {
					return
				}
			}
		}()
	}
}

func TestDial(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "socket")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer l.Close()
	go serveOK(l)

	t.Setenv("XENSTORED_PATH", sock)
	c, err := Dial(testCtx(t), "")
	require.NoError(t, err)
	v, err := c.Read(testCtx(t), "/x")
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	require.NoError(t, c.Close())

	_, err = Dial(testCtx(t), filepath.Join(dir, "nothing"))
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
}

// A socket nobody listens on refuses connections: Dial retries until a
// daemon appears, or until ctx ends.
func TestDialRetriesRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "socket")
	stale, err := net.Listen("unix", sock)
	require.NoError(t, err)
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, stale.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, sock)
	require.True(t, errdefs.IsTimeout(err), "%v", err)

	res := async(func() (*Client, error) { return Dial(testCtx(t), sock) })
	time.Sleep(50 * time.Millisecond)
	fresh := filepath.Join(dir, "fresh")
	l, err := net.Listen("unix", fresh)
	require.NoError(t, err)
	defer l.Close()
	go serveOK(l)
	require.NoError(t, os.Rename(fresh, sock)) // atomically replaces the stale one
	c, err := wait(t, res)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Read(testCtx(t), "/x")
	assert.NoError(t, err)
}
