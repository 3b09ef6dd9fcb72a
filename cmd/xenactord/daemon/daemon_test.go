package daemon_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const (
	waitFor = 20 * time.Second
	tick    = 10 * time.Millisecond
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shortDir is a temporary directory with a short path, for Unix sockets.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xad")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// remoteHost is a simulated host served on sockets, as xenactor-simhost
// serves one, in the test's process.
func remoteHost(t *testing.T) (*sim.Host, *sim.Sockets) {
	t.Helper()
	h := simtest.NewHost(t)
	return h, simtest.Serve(t, h)
}

// remoteConfig is a daemon on the remote host s with its state in stateDir.
func remoteConfig(t *testing.T, s *sim.Sockets, stateDir string) daemon.Config {
	return daemon.Config{StateDir: stateDir, RunDir: shortDir(t), Xenstored: s.Xenstored,
		Hypervisor: "unix:" + s.Hypervisor, Logger: slog.New(slog.DiscardHandler),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}
}

func start(t *testing.T, cfg daemon.Config) *daemon.Daemon {
	t.Helper()
	d, err := daemon.Start(ctxFor(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Stop() })
	return d
}

func newSpec(i int) vm.Spec {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return vm.Spec{UUID: uuid, Name: "test-" + uuid[:8], Type: hypervisor.DomainTypePV, VCPUs: 1,
		MemoryKiB: 64 << 10, Kernel: "sim:linux", OnShutdown: vm.ActionDestroy,
		VBDs: []vm.VBD{{DevID: 51712, Params: "/dev/loop0"}},
		VIFs: []vm.VIF{{DevID: 0, MAC: fmt.Sprintf("00:16:3e:00:00:%02x", i+1), Bridge: "xenbr0"}}}
}

// runTask waits for the task id of d to complete.
func runTask(t *testing.T, d *daemon.Daemon, id string) {
	t.Helper()
	ctx := ctxFor(t)
	pid, err := d.Host().Tasks(ctx)
	require.NoError(t, err)
	task, err := tasks.NewClient(d.System(), pid).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "task %s: %s", id, task.Error)
}

// startVM adds and starts a VM of spec and returns its domid.
func startVM(t *testing.T, d *daemon.Daemon, spec vm.Spec) hypervisor.DomID {
	t.Helper()
	ctx := ctxFor(t)
	c, err := d.Host().AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	runTask(t, d, id)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	return st.DomID
}

// requireDevicesConnected waits until every device of VM uuid is
// Connected on both ends, as the VM actor sees them.
func requireDevicesConnected(t *testing.T, d *daemon.Daemon, uuid string, want int) {
	t.Helper()
	ctx := ctxFor(t)
	c, err := d.Host().VM(ctx, uuid)
	require.NoError(t, err)
	var last *vm.VMStatus
	require.Eventually(t, func() bool {
		st, err := c.Stat(ctx)
		if err != nil || len(st.Devices) != want {
			return false
		}
		last = st
		for _, dev := range st.Devices {
			if dev.BackendState != xenbus.StateConnected || dev.FrontendState != xenbus.StateConnected {
				return false
			}
		}
		return true
	}, waitFor, tick, "devices of %s: %+v", uuid, last)
}

// requireDomainRuns checks the simulated host runs domain id for uuid.
func requireDomainRuns(t *testing.T, h *sim.Host, id hypervisor.DomID, uuid string) {
	t.Helper()
	info, err := h.Hypervisor().DomainInfo(ctxFor(t), id)
	require.NoError(t, err)
	require.Equal(t, uuid, info.UUID)
	require.False(t, info.Paused || info.Shutdown || info.Dying, "domain %d: %+v", id, info)
}

func TestDaemon_RemoteHost_StartsAVM(t *testing.T) {
	h, s := remoteHost(t)
	d := start(t, remoteConfig(t, s, t.TempDir()))
	spec := newSpec(0)
	id := startVM(t, d, spec)
	requireDevicesConnected(t, d, spec.UUID, 2)
	requireDomainRuns(t, h, id, spec.UUID)
	require.Equal(t, s.Xenstored, d.Xenstored())

	// The backends the remote host runs see the same: the handshake went
	// over the daemon's xenstored socket and hotplug over hvremote.
	xs := simtest.Dom0(t, h)
	for _, dev := range []xenbus.Device{
		{Class: xenbus.ClassVBD, Frontend: uint32(id), DevID: 51712},
		{Class: xenbus.ClassVIF, Frontend: uint32(id), DevID: 0},
	} {
		v, err := xs.Read(ctxFor(t), dev.BackendPath()+"/hotplug-status")
		require.NoError(t, err)
		require.Equal(t, "connected", string(v))
	}
	require.NoError(t, d.Stop())
	require.NoError(t, d.Stop(), "Stop is idempotent")
}

func TestDaemon_RestartAdoptsRunningDomains(t *testing.T) {
	h, s := remoteHost(t)
	stateDir := t.TempDir()
	d := start(t, remoteConfig(t, s, stateDir))
	specs := []vm.Spec{newSpec(0), newSpec(1), newSpec(2)}
	domids := make(map[string]hypervisor.DomID)
	for _, spec := range specs {
		domids[spec.UUID] = startVM(t, d, spec)
		requireDevicesConnected(t, d, spec.UUID, 2)
	}
	before, err := h.Hypervisor().ListDomains(ctxFor(t))
	require.NoError(t, err)
	require.Len(t, before, 4, "dom0 and three guests")

	// A graceful stop leaves every domain running.
	require.NoError(t, d.Stop())
	for _, spec := range specs {
		requireDomainRuns(t, h, domids[spec.UUID], spec.UUID)
	}

	// A new daemon on the same state directory adopts them.
	d2 := start(t, remoteConfig(t, s, stateDir))
	require.Eventually(t, func() bool {
		list, err := d2.Host().ListVMs(ctxFor(t))
		if err != nil || len(list) != len(specs) {
			return false
		}
		for _, info := range list {
			if info.PowerState != vm.Running || info.DomID != domids[info.Spec.UUID] {
				return false
			}
		}
		return true
	}, waitFor, tick, "the three VMs are adopted Running on their domains")
	for _, spec := range specs {
		requireDevicesConnected(t, d2, spec.UUID, 2)
		requireDomainRuns(t, h, domids[spec.UUID], spec.UUID)
	}
	after, err := h.Hypervisor().ListDomains(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, ids(before), ids(after), "no domain was added or lost")

	// The adopted VMs are really driven by the new daemon: a hard
	// shutdown of one destroys its domain.
	c, err := d2.Host().VM(ctxFor(t), specs[0].UUID)
	require.NoError(t, err)
	task, err := c.Shutdown(ctxFor(t), true)
	require.NoError(t, err)
	runTask(t, d2, task)
	_, err = h.Hypervisor().DomainInfo(ctxFor(t), domids[specs[0].UUID])
	require.True(t, errdefs.IsNotFound(err), "the domain is gone: %v", err)
	list, err := d2.Host().ListVMs(ctxFor(t))
	require.NoError(t, err)
	for _, info := range list {
		want := vm.Running
		if info.Spec.UUID == specs[0].UUID {
			want = vm.Halted
		}
		require.Equal(t, want, info.PowerState, "%s", info.Spec.UUID)
	}
}

func ids(l []hypervisor.DomainInfo) []hypervisor.DomID {
	out := make([]hypervisor.DomID, len(l))
	for i, info := range l {
		out[i] = info.ID
	}
	return out
}

func TestDaemon_Embedded(t *testing.T) {
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024})
	socket := filepath.Join(runDir, sim.XenstoredSocket)
	require.Equal(t, socket, d.Xenstored())
	fi, err := os.Stat(socket)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&os.ModeSocket)
	spec := newSpec(0)
	startVM(t, d, spec)
	requireDevicesConnected(t, d, spec.UUID, 2)
	require.NoError(t, d.Stop())
	_, err = os.Stat(socket)
	require.True(t, errors.Is(err, os.ErrNotExist), "the socket is removed: %v", err)
}

// usageCase is a configuration Start refuses with msg.
type usageCase struct {
	name string
	cfg  daemon.Config
	msg  string
}

func TestDaemon_UsageErrors(t *testing.T) {
	cases := []usageCase{
		{"embedded with an external xenstored", daemon.Config{Xenstored: "/run/xenstored/socket"}, "not supported"},
		{"remote without xenstored", daemon.Config{Hypervisor: "unix:/run/simhost/hypervisor.sock"}, "needs -xenstored"},
		{"remote without a path", daemon.Config{Hypervisor: "unix:", Xenstored: "/x"}, "no socket path"},
		{"unknown hypervisor", daemon.Config{Hypervisor: "kvm"}, "want"},
	}
	if !xen.Supported {
		cases = append(cases, usageCase{"xen without the build tag", daemon.Config{Hypervisor: daemon.HypervisorXen},
			"-tags xen"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.cfg.StateDir, tc.cfg.RunDir = filepath.Join(dir, "state"), dir
			_, err := daemon.Start(ctxFor(t), tc.cfg)
			require.ErrorIs(t, err, daemon.ErrUsage)
			require.True(t, errdefs.IsInvalid(err))
			require.ErrorContains(t, err, tc.msg)
			_, err = os.Stat(tc.cfg.StateDir)
			require.True(t, errors.Is(err, os.ErrNotExist), "nothing was started")
		})
	}
}

func TestDaemon_RemoteHostAbsent(t *testing.T) {
	dir := shortDir(t)
	ctx, cancel := context.WithTimeout(ctxFor(t), 2*time.Second)
	defer cancel()
	_, err := daemon.Start(ctx, daemon.Config{StateDir: filepath.Join(dir, "state"), RunDir: dir,
		Hypervisor: "unix:" + filepath.Join(dir, "hypervisor.sock"), Xenstored: filepath.Join(dir, "xenstored.sock")})
	require.Error(t, err)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	require.False(t, errors.Is(err, daemon.ErrUsage))
}
