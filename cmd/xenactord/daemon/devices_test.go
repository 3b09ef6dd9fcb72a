package daemon_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/storage/storagetest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// dmPid reads the pid of domain domid's device model from its pid file in
// the daemon's run directory.
func dmPid(t *testing.T, runDir string, domid hypervisor.DomID) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "dm", "dm-"+domid.String()+".pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.Fields(string(b))[0]) // the pid, then its start time
	require.NoError(t, err, "pid file %q", b)
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestDaemon_HVMVMWithADeviceModelAndAVolume(t *testing.T) {
	qemu := testenv.RequireExternal(t, "qemu-system-x86_64")["qemu-system-x86_64"]
	h, s := remoteHost(t)
	ctx := ctxFor(t)

	// A file SR with one volume.
	root := t.TempDir()
	plugin, srDir := filepath.Join(root, "plugin"), filepath.Join(root, "sr")
	require.NoError(t, storage.Install(plugin, storagetest.BuildFilePlugin(t)))
	require.NoError(t, os.Mkdir(srDir, 0o700))
	sr, err := daemon.ParseSR("local=" + plugin + ",file://" + srDir)
	require.NoError(t, err)
	vol, err := storage.NewClient(plugin, sr.URI).Create(ctx, "disk", "", 64<<20)
	require.NoError(t, err)

	cfg := remoteConfig(t, s, t.TempDir())
	cfg.DeviceModel, cfg.SRs = qemu, []storage.SR{sr}
	d := start(t, cfg)
	spec := newSpec(0)
	spec.Type, spec.OnCrash = hypervisor.DomainTypeHVM, vm.ActionDestroy
	spec.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/" + vol.Key}
	domid := startVM(t, d, spec)

	// The VBD is the volume's file; the device model runs.
	nc, err := h.Xenstore().ConnectDomain(0)
	require.NoError(t, err)
	xs := xenstore.NewClient(nc)
	defer xs.Close()
	params, err := xs.Read(ctx, "/local/domain/0/backend/vbd/"+domid.String()+"/51712/params")
	require.NoError(t, err)
	require.Contains(t, string(params), srDir)
	pid := dmPid(t, cfg.RunDir, domid)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // should the test fail before it does
	require.True(t, alive(pid))

	// A daemon restarted leaves the device model running and adopts it.
	require.NoError(t, d.Stop())
	require.True(t, alive(pid), "a daemon's graceful stop leaves the device model running")
	d = start(t, cfg)
	require.Eventually(t, func() bool {
		l, err := d.Host().ListVMs(ctxFor(t))
		return err == nil && len(l) == 1 && l[0].PowerState == vm.Running && l[0].DomID == domid
	}, waitFor, tick)
	require.Equal(t, pid, dmPid(t, cfg.RunDir, domid), "the same device model is adopted")

	// Its death is the domain's crash: destroyed (on_crash), the volume
	// detached, nothing left.
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		l, err := d.Host().ListVMs(ctxFor(t))
		return err == nil && len(l) == 1 && l[0].PowerState == vm.Halted
	}, waitFor, tick)
	_, err = h.Hypervisor().DomainInfo(ctx, domid)
	require.True(t, errdefs.IsNotFound(err), "the domain is destroyed: %v", err)
	require.Eventually(t, func() bool {
		v, err := storage.NewClient(plugin, sr.URI).Stat(ctx, vol.Key)
		return err == nil && v.Keys[storage.KeyAttachedDomain] == ""
	}, waitFor, tick, "the volume is detached")
}

func TestDaemon_UsageOfDevices(t *testing.T) {
	for _, bad := range []string{"", "x", "x=", "x=dir", "=dir,file:///y", "x=,file:///y"} {
		_, err := daemon.ParseSR(bad)
		require.ErrorIs(t, err, daemon.ErrUsage, "%q", bad)
	}
	_, s := remoteHost(t)
	cfg := remoteConfig(t, s, t.TempDir())
	cfg.DeviceModel = "/nonexistent/qemu"
	_, err := daemon.Start(ctxFor(t), cfg)
	require.ErrorIs(t, err, daemon.ErrUsage)
}
