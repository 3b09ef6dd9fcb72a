package hvremote_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
)

// socketPath returns a short socket path in a fresh directory (Unix socket
// paths are limited to about 100 bytes).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hvr")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "hv.sock")
}

// serve serves hv and hp on a fresh socket and returns its path and the
// server; both stop when the test ends.
func serve(t *testing.T, hv hypervisor.Hypervisor, hp hotplug.Hotplug, opts ...hvremote.Option) (string, *hvremote.Server) {
	t.Helper()
	path := socketPath(t)
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	srv := hvremote.NewServer(hv, hp, opts...)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
	return path, srv
}

// dial connects a client, closed when the test ends.
func dial(t *testing.T, path string) *hvremote.Client {
	t.Helper()
	c, err := hvremote.Dial(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
