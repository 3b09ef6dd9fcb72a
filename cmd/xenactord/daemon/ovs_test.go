package daemon_test

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/pvsproxy"
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
	// The host actor knows: a client sees the restart.
	require.Eventually(t, func() bool {
		list, err := d.Host().Daemons(ctxFor(t))
		if err != nil || len(list) != 2 {
			return false
		}
		i := slices.IndexFunc(list, func(s daemons.Status) bool { return s.Name == "ovs-vswitchd" })
		return i >= 0 && list[i].Restarts == 1 && list[i].State == daemons.StateRunning
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

func TestDaemon_VGPUAndPVSThroughTheirDaemons(t *testing.T) {
	testenv.RequireExternal(t, "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ovs-ofctl")
	qemu := testenv.RequireExternal(t, "qemu-system-x86_64")["qemu-system-x86_64"]
	demu := filepath.Join(t.TempDir(), "xenactor-demu")
	out, err := exec.Command("go", "build", "-o", demu, "../../xenactor-demu").CombinedOutput()
	require.NoError(t, err, "%s", out)
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: t.TempDir(), RunDir: runDir, Switch: daemon.SwitchOVS,
		HostMemoryMiB: 2048, DeviceModel: qemu, DEMU: demu, Logger: slog.New(slog.DiscardHandler)})

	// The proxy's own port, which its deployment makes, the rules send to.
	p, err := ovs.NewPrivate(runDir + "/ovs")
	require.NoError(t, err)
	require.NoError(t, p.Switch().AddBridge(ctxFor(t), "xenbr0"))
	require.NoError(t, p.Switch().AddPort(ctxFor(t), "xenbr0", "pvs0", nil))

	spec := newSpec(0)
	spec.Type = hypervisor.DomainTypeHVM
	spec.VGPUs = []vm.VGPU{{DevID: 0, Type: "GRID T4-2Q", PhysicalAddress: "0000:81:00.0",
		UUID: "0a7f3c1e-5b2d-4e8f-9c6a-1d2e3f405162"}}
	spec.VIFs[0].PVS = &vm.PVSProxy{Site: "6a1c9a0e-8d1b-4f3a-9a55-0c7d7f3e2b10", Interface: "pvs0",
		Servers: []vm.PVSServer{{Addresses: []string{"192.0.2.10"}, FirstPort: 6910, LastPort: 6930}}}
	domid := startVM(t, d, spec)

	// DEMU runs for the vGPU; the VIF's PVS rules are on the real switch.
	b, err := os.ReadFile(filepath.Join(runDir, "demu", "demu-"+domid.String()+"-0.pid"))
	require.NoError(t, err, "DEMU's pid file")
	require.NotEmpty(t, b)
	flows, err := p.Switch().Flows(ctxFor(t), "xenbr0", pvsproxy.Cookie(uint32(domid), 0))
	require.NoError(t, err)
	require.NotEmpty(t, flows)
}
