package pprofserve_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/pprofserve"
)

func TestServe(t *testing.T) {
	s, err := pprofserve.Serve("127.0.0.1:0")
	require.NoError(t, err)
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr() + pprofserve.Path + "goroutine?debug=1")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(b), "goroutine profile:")
	require.NoError(t, s.Close())
	_, err = http.Get("http://" + s.Addr() + pprofserve.Path)
	require.Error(t, err, "closed")
}

func TestServe_LoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "nonsense"} {
		_, err := pprofserve.Serve(addr)
		require.True(t, errdefs.IsInvalid(err), "%s: %v", addr, err)
	}
}
