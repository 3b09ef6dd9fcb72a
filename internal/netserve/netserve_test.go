package netserve_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/netserve"
)

// flakyListener fails its first Accept with a timeout, then with fail.
type flakyListener struct {
	net.Listener
	calls int
	fail  error
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (f *flakyListener) Accept() (net.Conn, error) {
	f.calls++
	if f.calls == 1 {
		return nil, timeoutErr{}
	}
	return nil, f.fail
}

func TestAccept(t *testing.T) {
	l, err := net.Listen("unix", t.TempDir()+"/s")
	require.NoError(t, err)
	got := make(chan net.Conn, 1)
	done := make(chan error, 1)
	go func() { done <- netserve.Accept(l, func(c net.Conn) { got <- c }) }()
	c, err := net.Dial("unix", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	select {
	case sc := <-got:
		sc.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("no connection handed over")
	}
	require.NoError(t, l.Close())
	require.NoError(t, <-done, "a closed listener ends the loop cleanly")

	boom := errors.New("boom")
	f := &flakyListener{fail: boom}
	require.ErrorIs(t, netserve.Accept(f, func(net.Conn) { t.Fatal("no connection") }), boom)
	require.Equal(t, 2, f.calls, "a timeout is retried")
}

// ServeHTTP serves its handler until Close, which is idempotent and frees
// the address; a taken address is unavailable.
func TestServeHTTP(t *testing.T) {
	s, err := netserve.ServeHTTP("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}), time.Second)
	require.NoError(t, err)
	resp, err := http.Get("http://" + s.Addr() + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "ok", string(body))

	_, err = netserve.ServeHTTP(s.Addr(), http.NotFoundHandler(), 0)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = http.Get("http://" + s.Addr() + "/")
	require.Error(t, err)
}
