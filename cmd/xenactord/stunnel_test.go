package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/testenv"
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

// daemonRow is one host daemon as the child "daemons" prints it.
type daemonRow struct {
	Name     string
	State    string
	Pid      int32
	Adopted  bool
	Restarts int32
}

func init() { children["daemons"] = listDaemons }

// listDaemons dials the daemon and lists its host daemons.
func listDaemons(t require.TestingT, cfg client.Config, _ string) any {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	require.NoError(t, err)
	defer c.Close()
	list, err := c.Daemons(ctx)
	require.NoError(t, err)
	rows := []daemonRow{}
	for _, d := range list {
		rows = append(rows, daemonRow{Name: d.GetName(), State: d.GetState(), Pid: d.GetPid(),
			Adopted: d.GetAdopted(), Restarts: d.GetRestarts()})
	}
	return rows
}

// stunnelStatus returns the stunnel daemon's row, asking in a child
// process; nil when the child fails or stunnel is not listed.
func stunnelStatus(t *testing.T, cfgPath string) *daemonRow {
	t.Helper()
	var rows []daemonRow
	if !inChild(t, "daemons", cfgPath, "", &rows) {
		return nil
	}
	for i := range rows {
		if rows[i].Name == "stunnel" {
			return &rows[i]
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
	// Registered before the daemons are, so it runs after they are killed:
	// whatever stunnel the last pid file names, which outlives a killed
	// daemon by design, goes too.
	t.Cleanup(func() { killFromPidFile(filepath.Join(runDir, "api-stunnel", "stunnel.pid"), runDir) })
	d := startProc(t, bin, args...)
	d.waitLog(t, "xenactord ready")
	var stunnelPid int

	cfgPath := filepath.Join(stateDir, "api", "client.json")
	cfg, err := client.FindConfig(cfgPath)
	require.NoError(t, err)
	require.Equal(t, tlsAddr, cfg.Address, "clients are sent to stunnel")
	require.False(t, cfg.Insecure, "with TLS")
	first := stunnelStatus(t, cfgPath)
	require.NotNil(t, first, "a call through stunnel lists stunnel among the host's daemons")
	require.Equal(t, "running", first.State)
	stunnelPid = int(first.Pid)

	// Calls fail while stunnel is down, and succeed again once it was
	// started again.
	require.NoError(t, syscall.Kill(stunnelPid, syscall.SIGKILL))
	var second *daemonRow
	require.Eventually(t, func() bool {
		second = stunnelStatus(t, cfgPath)
		return second != nil && second.State == "running" && second.Pid != first.Pid
	}, time.Minute, 50*time.Millisecond, "stunnel started again")
	stunnelPid = int(second.Pid)
	require.EqualValues(t, 1, second.Restarts)

	// The daemon dies; stunnel runs on and the next daemon adopts it.
	require.NoError(t, d.cmd.Process.Kill())
	<-d.done
	d.done <- nil
	require.NoError(t, syscall.Kill(stunnelPid, 0), "stunnel outlives the daemon")
	d = startProc(t, bin, args...)
	d.waitLog(t, "xenactord ready")
	adopted := stunnelStatus(t, cfgPath)
	require.NotNil(t, adopted, "a call through the adopted stunnel")
	require.True(t, adopted.Adopted, "%+v", adopted)
	require.Equal(t, second.Pid, adopted.Pid)

	d.terminate(t)
	require.Eventually(t, func() bool { return syscall.Kill(stunnelPid, 0) != nil }, 10*time.Second,
		20*time.Millisecond, "a daemon that stops stops its stunnel")
}

// killFromPidFile kills the process a daemon pid file names, if its
// command line still mentions dir (so a reused pid is left alone).
func killFromPidFile(path, dir string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var rec struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(b, &rec) != nil || rec.Pid <= 0 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", rec.Pid))
	if err == nil && strings.Contains(string(cmdline), dir) {
		_ = syscall.Kill(rec.Pid, syscall.SIGKILL)
	}
}
