package main_test

import (
	"context"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/messages"
)

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// stunnelStatus returns the stunnel daemon's status from the host's list,
// nil when it is not listed.
func stunnelStatus(t *testing.T, ctx context.Context, c *client.Client) *messages.DaemonStatus {
	t.Helper()
	list, err := c.Daemons(ctx)
	require.NoError(t, err)
	for _, d := range list {
		if d.GetName() == "stunnel" {
			return d
		}
	}
	return nil
}

// TestXenactord_APIBehindStunnel runs the daemon with Debian's stunnel
// terminating the API's TLS: clients reach the API through it, a stunnel
// killed with SIGKILL is started again, and a daemon killed with SIGKILL
// and started again adopts the stunnel that still runs.
func TestXenactord_APIBehindStunnel(t *testing.T) {
	progs := testenv.RequireExternal(t, "stunnel4")
	bin := build(t)
	runDir := shortDir(t)
	stateDir := filepath.Join(runDir, "state")
	apiAddr, tlsAddr := freeAddr(t), freeAddr(t)
	args := []string{"-api-addr", apiAddr, "-api-stunnel", tlsAddr, "-stunnel", progs["stunnel4"],
		"-metrics-addr", "", "-migrate-addr", "", "-run-dir", runDir, "-state-dir", stateDir, "-host-memory", "1024"}
	d := startProc(t, bin, args...)
	d.waitLog(t, "xenactord ready")
	var stunnelPid int
	t.Cleanup(func() {
		if stunnelPid != 0 {
			_ = syscall.Kill(stunnelPid, syscall.SIGKILL)
		}
	})

	cfg, err := client.FindConfig(filepath.Join(stateDir, "api", "client.json"))
	require.NoError(t, err)
	require.Equal(t, tlsAddr, cfg.Address, "clients are sent to stunnel")
	require.False(t, cfg.Insecure, "with TLS")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.HostInfo(ctx)
	require.NoError(t, err, "a call through stunnel")
	first := stunnelStatus(t, ctx, c)
	require.NotNil(t, first, "stunnel is one of the host's daemons")
	require.Equal(t, "running", first.GetState())
	stunnelPid = int(first.GetPid())

	// Calls fail while stunnel is down, and succeed again once it was
	// started again: the client dials anew.
	require.NoError(t, syscall.Kill(stunnelPid, syscall.SIGKILL))
	var second *messages.DaemonStatus
	var errs int
	require.Eventually(t, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		list, err := c.Daemons(cctx)
		if err != nil {
			errs++
			return false
		}
		for _, d := range list {
			if d.GetName() == "stunnel" {
				second = d
			}
		}
		return second.GetState() == "running" && second.GetPid() != first.GetPid()
	}, time.Minute, 50*time.Millisecond, "stunnel started again")
	t.Logf("%d calls failed while stunnel was down", errs)
	stunnelPid = int(second.GetPid())
	require.EqualValues(t, 1, second.GetRestarts())
	require.NoError(t, c.Close())

	// The daemon dies; stunnel runs on and the next daemon adopts it.
	require.NoError(t, d.cmd.Process.Kill())
	<-d.done
	d.done <- nil
	require.NoError(t, syscall.Kill(stunnelPid, 0), "stunnel outlives the daemon")
	d = startProc(t, bin, args...)
	d.waitLog(t, "xenactord ready")
	c2, err := client.Dial(ctx, cfg)
	require.NoError(t, err, "through the adopted stunnel")
	defer c2.Close()
	adopted := stunnelStatus(t, ctx, c2)
	require.NotNil(t, adopted)
	require.True(t, adopted.GetAdopted(), "%v", adopted)
	require.Equal(t, second.GetPid(), adopted.GetPid())
	require.NoError(t, c2.Close())

	d.terminate(t)
	require.Eventually(t, func() bool { return syscall.Kill(stunnelPid, 0) != nil }, 10*time.Second,
		20*time.Millisecond, "a daemon that stops stops its stunnel")
	stunnelPid = 0
}
