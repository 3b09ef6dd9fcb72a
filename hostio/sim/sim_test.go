package sim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// rig is a xenstored with the dom0 backends running, and a dom0 client
// that plays the toolstack.
type rig struct {
	srv     *xenstored.Server
	dom0    *xenstore.Client
	faults  *Faults
	netdevs *NetDevs
	hotplug *Hotplug
	sw      ovs.Switch
	mu      sync.Mutex
	downs   map[uint32]string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{srv: xenstored.New(xenstored.Config{}), faults: &Faults{}, netdevs: newNetDevs(), sw: ovs.NewSim(),
		downs: map[uint32]string{}}
	t.Cleanup(func() { r.srv.Close() })
	r.dom0 = r.connect(t, 0)
	be, err := startBackends(tctx(t), r.connect(t, 0), r.netdevs, r.faults, slog.Default())
	require.NoError(t, err)
	t.Cleanup(be.close)
	r.hotplug = &Hotplug{xs: r.dom0, netdevs: r.netdevs, sw: r.sw, faults: r.faults}
	return r
}

func (r *rig) connect(t *testing.T, domid uint32) *xenstore.Client {
	nc, err := r.srv.ConnectDomain(domid)
	require.NoError(t, err)
	c := xenstore.NewClient(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// boot introduces domid, lays out its home as a toolstack does and starts
// its kernel with profile p.
func (r *rig) boot(t *testing.T, domid uint32, p Profile) *guest {
	t.Helper()
	ctx := tctx(t)
	require.NoError(t, r.dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return WriteHome(ctx, tx, domid, 1048576, 1, 1)
	}))
	require.NoError(t, r.dom0.Introduce(ctx, domid, 1, 1))
	hooks := guestHooks{shutdown: func(reason string) {
		r.mu.Lock()
		r.downs[domid] = reason
		r.mu.Unlock()
	}}
	g, err := startGuest(domid, p, r.connect(t, domid), hooks, r.faults, slog.Default(), agentState{})
	require.NoError(t, err)
	t.Cleanup(g.stop)
	return g
}

func (r *rig) shutdownReason(domid uint32) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downs[domid]
}

// plug writes a device's backend and frontend trees in one transaction,
// with the reference's keys and permissions, then runs hotplug.
func (r *rig) plug(t *testing.T, k DeviceKey) error {
	t.Helper()
	ctx := tctx(t)
	params := "/dev/loop0"
	if k.Class == VIF {
		params = "xenbr0"
	}
	require.NoError(t, r.dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return WriteDevice(ctx, tx, k, params)
	}))
	if k.Class == VIF {
		r.waitState(t, k.BackendPath(), xenbus.StateInitWait)
	}
	return r.hotplug.Add(ctx, k)
}

func (r *rig) state(path string) xenbus.State {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return readState(ctx, r.dom0.Handle, path+"/state")
}

func (r *rig) waitState(t *testing.T, path string, want xenbus.State) {
	t.Helper()
	require.Eventually(t, func() bool { return r.state(path) == want }, 5*time.Second, time.Millisecond,
		"%s never reached %s (at %s)", path, want, r.state(path))
}

func (r *rig) read(t *testing.T, path string) string {
	v, err := r.dom0.Read(tctx(t), path)
	require.NoError(t, err, path)
	return string(v)
}

func TestHandshake_VBDAndVIFConnect(t *testing.T) {
	r := newRig(t)
	r.boot(t, 5, LinuxPV)
	for _, k := range []DeviceKey{{VBD, 5, 51712}, {VIF, 5, 0}} {
		require.NoError(t, r.plug(t, k))
		r.waitState(t, k.BackendPath(), xenbus.StateConnected)
		r.waitState(t, k.FrontendPath(), xenbus.StateConnected)
		assert.Equal(t, "connected", r.read(t, k.BackendPath()+"/hotplug-status"))
	}
	assert.Equal(t, "20971520", r.read(t, DeviceKey{VBD, 5, 51712}.BackendPath()+"/sectors"))
	assert.NotEmpty(t, r.read(t, DeviceKey{VBD, 5, 51712}.FrontendPath()+"/ring-ref"))
	assert.NotEmpty(t, r.read(t, DeviceKey{VIF, 5, 0}.FrontendPath()+"/tx-ring-ref"))
	assert.True(t, r.netdevs.Exists("vif5.0"))
	b, _ := r.netdevs.Bridge("vif5.0")
	assert.Equal(t, "xenbr0", b)
	ports, err := r.sw.ListPorts(tctx(t), "xenbr0")
	require.NoError(t, err)
	assert.Equal(t, []string{"vif5.0"}, ports, "hotplug put the VIF on the switch's bridge")
	ids, err := r.sw.PortExternalIDs(tctx(t), "vif5.0")
	require.NoError(t, err)
	assert.Equal(t, r.read(t, DeviceKey{VIF, 5, 0}.BackendPath()+"/mac"), ids[ovs.KeyAttachedMAC])
	// The frontend's nodes belong to the guest.
	perms, err := r.dom0.GetPerms(tctx(t), DeviceKey{VBD, 5, 51712}.FrontendPath()+"/ring-ref")
	require.NoError(t, err)
	assert.Equal(t, uint32(5), perms[0].Domid)
}

func TestUnplug_CleanAndForced(t *testing.T) {
	r := newRig(t)
	r.boot(t, 6, LinuxPV)
	ctx := tctx(t)
	clean, forced := DeviceKey{VBD, 6, 51712}, DeviceKey{VIF, 6, 1}
	for _, k := range []DeviceKey{clean, forced} {
		require.NoError(t, r.plug(t, k))
		r.waitState(t, k.BackendPath(), xenbus.StateConnected)
	}
	// Clean: online=0 and backend Closing; the frontend closes; the backend closes.
	require.NoError(t, r.dom0.Write(ctx, clean.BackendPath()+"/online", []byte("0")))
	require.NoError(t, r.dom0.Write(ctx, clean.BackendPath()+"/state", xenbus.StateClosing.Value()))
	r.waitState(t, clean.FrontendPath(), xenbus.StateClosed)
	r.waitState(t, clean.BackendPath(), xenbus.StateClosed)
	require.NoError(t, r.dom0.Rm(ctx, clean.BackendPath()))
	require.NoError(t, r.dom0.Rm(ctx, clean.FrontendPath()))

	// Forced: online=0, the frontend tree goes at once, the backend closes.
	require.NoError(t, r.dom0.Write(ctx, forced.BackendPath()+"/online", []byte("0")))
	require.NoError(t, r.dom0.Write(ctx, forced.BackendPath()+"/state", xenbus.StateClosing.Value()))
	require.NoError(t, r.dom0.Rm(ctx, forced.FrontendPath()))
	r.waitState(t, forced.BackendPath(), xenbus.StateClosed)
	require.NoError(t, r.hotplug.Remove(ctx, forced))
	_, err := r.sw.PortExternalIDs(ctx, "vif6.1")
	require.True(t, errdefs.IsNotFound(err), "hotplug remove deleted the port: %v", err)
	require.NoError(t, r.hotplug.Remove(ctx, forced), "removing again is fine")
	require.NoError(t, r.dom0.Rm(ctx, forced.BackendPath()))
	require.Eventually(t, func() bool { return !r.netdevs.Exists("vif6.1") }, 5*time.Second, time.Millisecond)
}

func TestHotplugFailure_WritesHotplugError(t *testing.T) {
	r := newRig(t)
	r.boot(t, 7, LinuxPV)
	r.faults.SetHotplugError("simulated: no such device")
	k := DeviceKey{VBD, 7, 51712}
	require.Error(t, r.plug(t, k))
	assert.Equal(t, "simulated: no such device", r.read(t, k.BackendPath()+"/hotplug-error"))
	assert.Equal(t, xenbus.StateInitialising, r.state(k.BackendPath()), "blkback never opens the device")
}

func TestFrontendHang_StaysInitialising(t *testing.T) {
	r := newRig(t)
	r.boot(t, 8, LinuxPV)
	r.faults.SetFrontendHang(true)
	k := DeviceKey{VBD, 8, 51712}
	require.NoError(t, r.plug(t, k))
	r.waitState(t, k.BackendPath(), xenbus.StateInitWait)
	time.Sleep(50 * time.Millisecond) // give a misbehaving frontend the chance to move
	assert.Equal(t, xenbus.StateInitialising, r.state(k.FrontendPath()))
	r.faults.SetFrontendHang(false)
	require.NoError(t, r.dom0.Write(tctx(t), k.BackendPath()+"/online", []byte("1"))) // any event re-runs both sides
	r.waitState(t, k.FrontendPath(), xenbus.StateConnected)
}

func TestFrontend_ClosesAtOnceWhenTheBackendClosesBeforeItConnected(t *testing.T) {
	r := newRig(t)
	r.boot(t, 10, LinuxPV)
	r.faults.SetFrontendHang(true) // hold the frontend in Initialising
	k := DeviceKey{VBD, 10, 51712}
	require.NoError(t, r.plug(t, k))
	r.waitState(t, k.BackendPath(), xenbus.StateInitWait)
	require.Equal(t, xenbus.StateInitialising, r.state(k.FrontendPath()))
	r.faults.SetFrontendHang(false)
	// The toolstack unplugs it before it connected: the backend closes.
	require.NoError(t, r.dom0.Write(tctx(t), k.BackendPath()+"/state", xenbus.StateClosing.Value()))
	r.waitState(t, k.FrontendPath(), xenbus.StateClosed)
	r.waitState(t, k.BackendPath(), xenbus.StateClosed)
}

func TestBackendDelay(t *testing.T) {
	r := newRig(t)
	r.boot(t, 9, LinuxPV)
	r.faults.SetBackendDelay(30 * time.Millisecond)
	k := DeviceKey{VBD, 9, 51712}
	start := time.Now()
	require.NoError(t, r.plug(t, k))
	r.waitState(t, k.FrontendPath(), xenbus.StateConnected)
	// Two backend transitions (InitWait, Connected), each delayed.
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
}

func TestGuest_ShutdownAcknowledged(t *testing.T) {
	for _, req := range []string{"poweroff", "reboot", "suspend", "halt"} {
		t.Run(req, func(t *testing.T) {
			r := newRig(t)
			r.boot(t, 10, LinuxPV)
			ctx := tctx(t)
			require.Eventually(t, func() bool {
				v, err := r.dom0.Read(ctx, "/local/domain/10/control/feature-poweroff")
				return err == nil && string(v) == "1"
			}, 5*time.Second, time.Millisecond)
			require.NoError(t, r.dom0.Write(ctx, "/local/domain/10/control/shutdown", []byte(req)))
			require.Eventually(t, func() bool { return r.shutdownReason(10) != "" }, 5*time.Second, time.Millisecond)
			assert.Equal(t, shutdownReasons[req], r.shutdownReason(10))
			assert.Equal(t, "", r.read(t, "/local/domain/10/control/shutdown"), "acknowledged with the empty string")
		})
	}
}

func TestGuest_NoAckAndNoPVDrivers(t *testing.T) {
	r := newRig(t)
	r.boot(t, 11, HostileNoAck)
	r.boot(t, 12, HVMNoPV)
	ctx := tctx(t)
	for _, d := range []uint32{11, 12} {
		require.NoError(t, r.dom0.Write(ctx, xenstore.DomainPath(d)+"/control/shutdown", []byte("poweroff")))
	}
	time.Sleep(100 * time.Millisecond) // long enough for a guest that would answer
	for _, d := range []uint32{11, 12} {
		assert.Equal(t, "poweroff", r.read(t, xenstore.DomainPath(d)+"/control/shutdown"))
		assert.Empty(t, r.shutdownReason(d))
	}
	ok, err := r.dom0.Exists(ctx, "/local/domain/12/control/feature-poweroff")
	require.NoError(t, err)
	assert.False(t, ok, "a guest without PV drivers advertises nothing")
}

func TestGuest_AgentReports(t *testing.T) {
	for _, p := range []Profile{LinuxPV, WindowsPV} {
		t.Run(p.Name, func(t *testing.T) {
			r := newRig(t)
			g := r.boot(t, 13, p)
			require.NoError(t, r.plug(t, DeviceKey{VIF, 13, 0}))
			r.waitState(t, DeviceKey{VIF, 13, 0}.FrontendPath(), xenbus.StateConnected)
			g.report()
			assert.Equal(t, "10.0.13.2", r.read(t, "/local/domain/13/attr/vif/0/ipv4/0"))
			assert.Equal(t, "1048576", r.read(t, "/local/domain/13/data/meminfo_total"))
			assert.Equal(t, "1", r.read(t, "/local/domain/13/data/updated"))
			assert.Equal(t, "1", r.read(t, "/local/domain/13/control/feature-balloon"))
			if p.Agent == "windows" {
				assert.Contains(t, r.read(t, "/local/domain/13/data/os_name"), "Windows")
			} else {
				assert.Contains(t, r.read(t, "/local/domain/13/data/os_name"), "Debian")
			}
			// The balloon follows memory/target, and the agent says so.
			require.NoError(t, r.dom0.Write(tctx(t), "/local/domain/13/memory/target", []byte("524288")))
			require.Eventually(t, func() bool {
				return r.read(t, "/local/domain/13/data/meminfo_total") == "524288"
			}, 5*time.Second, time.Millisecond)
		})
	}
}

func TestGuest_CrashAfter(t *testing.T) {
	r := newRig(t)
	p := LinuxPV
	p.CrashAfter = 20 * time.Millisecond
	r.boot(t, 14, p)
	require.Eventually(t, func() bool { return r.shutdownReason(14) == "crash" }, 5*time.Second, time.Millisecond)
}

func TestHostileGuests_Contained(t *testing.T) {
	r := newRig(t)
	ctx := tctx(t)
	r.boot(t, 20, HVMNoPV)
	require.NoError(t, r.dom0.Write(ctx, "/local/domain/20/data/os_name", []byte("honest")))
	j := r.boot(t, 21, HostileJunk)
	q := r.boot(t, 22, HostileQuota)
	f := r.boot(t, 23, HostileFlapper)
	j.writeJunk()
	q.fillQuota()
	f.flap()
	// Nothing outside the hostile guests' own writable directories changed.
	assert.Equal(t, "honest", r.read(t, "/local/domain/20/data/os_name"))
	ok, err := r.dom0.Exists(ctx, "/local/domain/0/backend/vbd/21")
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = r.dom0.Exists(ctx, "/vm")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, "1048576", r.read(t, "/local/domain/21/memory/target"), "memory/target is the toolstack's")
	// The quota filler was stopped by its quota.
	kids, err := r.dom0.Directory(ctx, "/local/domain/22/data/fill")
	require.NoError(t, err)
	assert.Less(t, len(kids), 1001)
	// The daemon's tree is consistent and dom0 still works.
	out, err := r.dom0.Control(ctx, "check")
	require.NoError(t, err)
	assert.Equal(t, "OK", out)
}

func TestParseDevicePath(t *testing.T) {
	cases := map[string]DeviceKey{
		"/local/domain/0/backend/vbd/5/768/state": {VBD, 5, 768},
		"/local/domain/5/device/vif/0/state":      {VIF, 5, 0},
		"/local/domain/5/device/vif/1":            {VIF, 5, 1},
	}
	for p, want := range cases {
		got, ok := parseDevicePath(p)
		require.True(t, ok, p)
		assert.Equal(t, want, got, p)
	}
	for _, p := range []string{"/local/domain/5/data/x", "/local/domain/0/backend/vbd/5", "/local/domain/5/device/pci/0",
		"/vm/x/y/z/w", "/local/domain/x/device/vbd/1", "/local/domain/5/device/vbd/-1"} {
		_, ok := parseDevicePath(p)
		assert.False(t, ok, p)
	}
}

// downSwitch is a switch that cannot be reached.
type downSwitch struct{ *ovs.Sim }

func (downSwitch) AddPort(context.Context, string, string, map[string]string) error {
	return fmt.Errorf("test switch: %w", errdefs.ErrUnavailable)
}

func TestHotplug_SwitchFails_WritesHotplugError(t *testing.T) {
	r := newRig(t)
	r.hotplug.sw = downSwitch{ovs.NewSim()}
	r.boot(t, 8, LinuxPV)
	k := DeviceKey{VIF, 8, 0}
	err := r.plug(t, k)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	assert.Contains(t, r.read(t, k.BackendPath()+"/hotplug-error"), "test switch")
	_, attached := r.netdevs.Bridge(VifName(8, 0))
	assert.False(t, attached, "a VIF whose port failed is not left on the bridge")
}
