package daemon_test

import (
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/internal/testenv"
)

func TestDaemon_EmbeddedHostOnAPrivateOpenVSwitch(t *testing.T) {
	testenv.RequireExternal(t, "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: t.TempDir(), RunDir: runDir, Switch: daemon.SwitchOVS,
		HostMemoryMiB: 2048, Logger: slog.New(slog.DiscardHandler),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }})
	require.Len(t, d.Daemons(), 2, "ovsdb-server and ovs-vswitchd")
	p, err := ovs.NewPrivate(runDir + "/ovs")
	require.NoError(t, err)
	sw := p.Switch()

	a := newSpec(0)
	domA := startVM(t, d, a)
	ports, err := sw.ListPorts(ctxFor(t), "xenbr0")
	require.NoError(t, err)
	require.Contains(t, ports, sim.VifName(uint32(domA), 0), "the VIF's port is on the real switch")

	// ovs-vswitchd killed: its actor starts it again; the database kept
	// the port, and the next VM's port is made.
	vs := d.Daemons()[1]
	before, err := vs.Status(ctxFor(t))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(before.Pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		st, err := vs.Status(ctxFor(t))
		return err == nil && st.State == daemons.StateRunning && st.Pid != before.Pid && st.Restarts == 1
	}, waitFor, tick)
	b := newSpec(1)
	domB := startVM(t, d, b)
	ports, err = sw.ListPorts(ctxFor(t), "xenbr0")
	require.NoError(t, err)
	require.Subset(t, ports, []string{sim.VifName(uint32(domA), 0), sim.VifName(uint32(domB), 0)})

	// The daemon's stop stops the embedded host's switch too.
	var pids []int
	for _, c := range d.Daemons() {
		st, err := c.Status(ctxFor(t))
		require.NoError(t, err)
		pids = append(pids, st.Pid)
	}
	require.NoError(t, d.Stop())
	for _, pid := range pids {
		require.False(t, alive(pid), "pid %d is stopped", pid)
	}
}

func TestDaemon_SwitchUsage(t *testing.T) {
	_, s := remoteHost(t)
	cfg := remoteConfig(t, s, t.TempDir())
	cfg.Switch = daemon.SwitchOVS
	_, err := daemon.Start(ctxFor(t), cfg)
	require.ErrorIs(t, err, daemon.ErrUsage)
	_, err = daemon.Start(ctxFor(t), daemon.Config{StateDir: t.TempDir(), RunDir: shortDir(t), Switch: "bogus"})
	require.ErrorIs(t, err, daemon.ErrUsage)
}
