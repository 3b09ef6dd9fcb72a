package apiwire_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/apiwire"
)

// TestMigrationServerTLS checks the migration listener's two sides: a pool
// member asking for PoolServerName with its pool certificate is a PoolPeer;
// a caller on the API's side, or a daemon outside a pool, is not; a member
// of another pool is refused.
func TestMigrationServerTLS(t *testing.T) {
	api, err := apiwire.EnsureCredentials(t.TempDir())
	require.NoError(t, err)
	dir := t.TempDir()
	h1, err := apiwire.EnsurePoolCredentials(dir, "h1")
	require.NoError(t, err)
	h2, err := apiwire.EnsurePoolCredentials(dir, "h2")
	require.NoError(t, err)
	stranger, err := apiwire.EnsurePoolCredentials(t.TempDir(), "h2")
	require.NoError(t, err)

	// serve accepts one connection on a listener of cfg and reports
	// whether it is a pool peer once its handshake is done.
	serve := func(cfg *tls.Config) (string, <-chan bool) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		peer := make(chan bool, 1)
		go func() {
			conn, err := tls.NewListener(ln, cfg).Accept()
			if err != nil {
				peer <- false
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if err := conn.(*tls.Conn).Handshake(); err != nil {
				peer <- false
				return
			}
			peer <- apiwire.PoolPeer(conn)
			_, _ = conn.Write([]byte("x"))
		}()
		return ln.Addr().String(), peer
	}
	dial := func(addr string, cfg *tls.Config) error {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		// In TLS 1.3 the server's verdict on the client's certificate
		// comes with the first read.
		_, err = conn.Read(make([]byte, 1))
		return err
	}

	addr, peer := serve(apiwire.MigrationServerTLS(api, h1))
	require.NoError(t, dial(addr, h2.MigrationClientTLS()))
	require.True(t, <-peer, "a member of the pool")

	addr, peer = serve(apiwire.MigrationServerTLS(api, h1))
	require.NoError(t, dial(addr, &tls.Config{InsecureSkipVerify: true})) //nolint:gosec
	require.False(t, <-peer, "a caller on the API's side brings the token")

	addr, peer = serve(apiwire.MigrationServerTLS(api, h1))
	require.Error(t, dial(addr, &tls.Config{InsecureSkipVerify: true, ServerName: apiwire.PoolServerName})) //nolint:gosec
	require.False(t, <-peer, "the pool's side without a certificate")

	addr, peer = serve(apiwire.MigrationServerTLS(api, h1))
	require.Error(t, dial(addr, stranger.MigrationClientTLS()), "a member of another pool")
	require.False(t, <-peer)

	addr, peer = serve(apiwire.MigrationServerTLS(api, nil))
	require.Error(t, dial(addr, h2.MigrationClientTLS()), "a daemon outside a pool shows the API's certificate")
	require.False(t, <-peer)
}
