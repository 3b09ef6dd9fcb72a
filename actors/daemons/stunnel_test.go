package daemons_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/stunnel"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/supervisors"
)

func TestStunnel_TLSReachesPlainPort_RestartedAfterKill(t *testing.T) {
	progs := testenv.RequireExternal(t, "stunnel4")
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			echo := echoServer(t, network)
			m, err := process.NewManager(t.TempDir(), process.WithGrace(5*time.Second))
			require.NoError(t, err)

			accept := freeAddr(t)
			cfg, err := daemons.Stunnel(m, daemons.StunnelConfig{
				Program: progs["stunnel4"],
				TLS:     stunnel.Config{Accept: accept, Connect: echo},
			})
			require.NoError(t, err)
			cfg.Backoff = supervisors.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
			cfg.HealthInterval = 100 * time.Millisecond
			system := actortest.System(t)
			c := daemons.NewClient(system, system.Root.Spawn(daemons.Props(cfg)))
			t.Cleanup(func() { _ = c.Stop(context.Background()) })

			first := waitStatus(t, c, running)
			roots := certPool(t, filepath.Join(m.RunDir(), stunnel.CertFile))
			requireEcho(t, accept, roots, "through stunnel")

			require.NoError(t, syscall.Kill(first.Pid, syscall.SIGKILL))
			second := waitStatus(t, c, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
			require.Equal(t, 1, second.Restarts)
			requireEcho(t, accept, roots, "through the new stunnel")

			require.NoError(t, c.Stop(t.Context()))
			require.False(t, alive(second.Pid))
		})
	}
}

// requireEcho sends line over TLS to addr and requires it back.
func requireEcho(t *testing.T, addr string, roots *x509.CertPool, line string) {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintln(conn, line)
	require.NoError(t, err)
	got, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, line+"\n", got)
}

// echoServer serves a plain echo until the test ends and returns its
// address: on 127.0.0.1 for "tcp", a socket in a short temporary directory
// for "unix".
func echoServer(t *testing.T, network string) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "x")
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		addr = filepath.Join(dir, "echo.sock")
	}
	l, err := net.Listen(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// certPool returns a pool holding the PEM certificate at path.
func certPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(data))
	return pool
}
