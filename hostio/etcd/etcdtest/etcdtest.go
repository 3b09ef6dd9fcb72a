// Package etcdtest runs a real etcd server (Debian's etcd-server) for tests:
// one member on loopback, its data in the test's temporary directory,
// stopped when the test ends.
package etcdtest

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/internal/testenv"
)

// Start starts etcd on two free 127.0.0.1 ports (client and peer) and
// returns its client URL once it answers. It skips the test when etcd is
// missing (testenv.RequireExternal). The server is killed at cleanup.
func Start(t testing.TB) string {
	t.Helper()
	bin := testenv.RequireExternal(t, "etcd")["etcd"]
	dir := t.TempDir()
	client := "http://" + freeAddr(t)
	peer := "http://" + freeAddr(t)
	log := &testenv.Buffer{}
	cmd := exec.Command(bin, "--name", "pool-test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "pool-test="+peer, "--initial-cluster-state", "new",
		"--log-level", "warn", "--logger", "zap")
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("etcd's log:\n%s", log.String())
		}
	})
	c, err := etcd.New([]string{client})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		select {
		case <-done:
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Put(ctx, "/etcdtest/ready", []byte("1"), 0) == nil
	}, 20*time.Second, 50*time.Millisecond)
	select {
	case <-done:
		t.Fatalf("etcd exited: %s", log.String())
	default:
	}
	return client
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
