package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// hostRig drives a simulated Host the way a toolstack does, through the
// hypervisor interface and a dom0 xenstore connection only.
type hostRig struct {
	*rig
	h  *Host
	hv hypervisor.Hypervisor
}

func newHostRig(t *testing.T) *hostRig {
	t.Helper()
	h, err := New(Config{})
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	r := &rig{srv: h.Xenstore(), faults: h.Faults(), netdevs: h.NetDevs(), sw: h.Switch(), downs: map[uint32]string{}}
	r.dom0 = r.connect(t, 0)
	r.hotplug = &Hotplug{xs: r.dom0, netdevs: h.NetDevs(), sw: h.Switch(), faults: h.Faults()}
	return &hostRig{rig: r, h: h, hv: h.Hypervisor()}
}

// start creates, builds and introduces a domain booting image, lays out its
// home, and (if run) unpauses it.
func (r *hostRig) start(t *testing.T, image string, run bool) hypervisor.DomID {
	t.Helper()
	ctx := tctx(t)
	id, err := r.hv.Create(ctx, hypervisor.CreateConfig{UUID: "9b7f6ae4-2c41-4d3e-9a1f-3b5c2d1e0f7a",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 2, MaxMemKiB: 1 << 20})
	require.NoError(t, err)
	res, err := r.hv.Build(ctx, id, hypervisor.BuildConfig{Kernel: image, MemoryKiB: 1 << 20, TargetKiB: 1 << 20})
	require.NoError(t, err)
	domid := uint32(id)
	require.NoError(t, r.dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return WriteHome(ctx, tx, domid, 1<<20, res.StoreGFN, res.StorePort)
	}))
	require.NoError(t, r.dom0.Introduce(ctx, domid, res.StoreGFN, res.StorePort))
	if run {
		require.NoError(t, r.hv.Unpause(ctx, id))
	}
	return id
}

func (r *hostRig) info(t *testing.T, id hypervisor.DomID) hypervisor.DomainInfo {
	info, err := r.hv.DomainInfo(tctx(t), id)
	require.NoError(t, err)
	return info
}

func TestHost_GuestRunsWhenUnpausedAndHandshakes(t *testing.T) {
	r := newHostRig(t)
	id := r.start(t, "sim:linux", false)
	domid := uint32(id)
	k := DeviceKey{VBD, domid, 51712}
	require.NoError(t, r.plug(t, k))
	r.waitState(t, k.BackendPath(), xenbus.StateInitWait)
	assert.Equal(t, xenbus.StateInitialising, r.state(k.FrontendPath()), "a paused guest runs no driver code")
	assert.Equal(t, 0, r.h.Guests())
	require.NoError(t, r.hv.Unpause(tctx(t), id))
	r.waitState(t, k.FrontendPath(), xenbus.StateConnected)
	r.waitState(t, k.BackendPath(), xenbus.StateConnected)
	assert.Equal(t, 1, r.h.Guests())
}

func TestHost_PausedGuestDoesNotAck(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	id := r.start(t, "sim:linux", true)
	home := xenstore.DomainPath(uint32(id))
	require.Eventually(t, func() bool {
		ok, _ := r.dom0.Exists(ctx, home+"/control/feature-poweroff")
		return ok
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, r.hv.Pause(ctx, id))
	require.Eventually(t, func() bool { return r.info(t, id).Paused }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // the host notices the pause
	require.NoError(t, r.dom0.Write(ctx, home+"/control/shutdown", []byte("poweroff")))
	time.Sleep(50 * time.Millisecond) // long enough for a running guest to answer
	assert.Equal(t, "poweroff", r.read(t, home+"/control/shutdown"))
	require.NoError(t, r.hv.Unpause(ctx, id))
	require.Eventually(t, func() bool { return r.info(t, id).Shutdown }, 5*time.Second, time.Millisecond)
	assert.Equal(t, hypervisor.ShutdownPoweroff, r.info(t, id).ShutdownReason)
}

func TestHost_ShutdownAndDestroyReleaseTheDomain(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	rel, err := r.dom0.Watch(ctx, xenstore.WatchReleaseDomain, "rel")
	require.NoError(t, err)
	<-rel.Events()
	id := r.start(t, "sim:linux", true)
	domid := uint32(id)
	home := xenstore.DomainPath(domid)
	require.Eventually(t, func() bool {
		ok, _ := r.dom0.Exists(ctx, home+"/control/feature-reboot")
		return ok
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, r.dom0.Write(ctx, home+"/control/shutdown", []byte("reboot")))
	select {
	case <-rel.Events():
	case <-ctx.Done():
		t.Fatal("@releaseDomain did not fire on the guest's shutdown")
	}
	info := r.info(t, id)
	assert.True(t, info.Shutdown)
	assert.Equal(t, hypervisor.ShutdownReboot, info.ShutdownReason)
	require.Eventually(t, func() bool { return r.h.Guests() == 0 }, 5*time.Second, time.Millisecond)

	require.NoError(t, r.hv.Destroy(ctx, id))
	require.Eventually(t, func() bool { return !r.srv.IsIntroduced(domid) }, 5*time.Second, time.Millisecond)
	ok, err := r.dom0.Exists(ctx, home+"/control")
	require.NoError(t, err)
	assert.False(t, ok, "the guest-owned nodes go with the domain")
	// The toolstack removes the rest.
	require.NoError(t, r.dom0.Rm(ctx, home))
	out, err := r.dom0.Control(ctx, "check")
	require.NoError(t, err)
	assert.Equal(t, "OK", out)
}

func TestHost_HVMWithoutPVDriversNeedsTheHypervisor(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	id := r.start(t, "sim:hvm-nopv", true)
	home := xenstore.DomainPath(uint32(id))
	require.Eventually(t, func() bool { return r.h.Guests() == 1 }, 5*time.Second, time.Millisecond)
	ok, err := r.dom0.Exists(ctx, home+"/control/feature-poweroff")
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, r.hv.Shutdown(ctx, id, hypervisor.ShutdownPoweroff))
	require.Eventually(t, func() bool { return r.h.Guests() == 0 }, 5*time.Second, time.Millisecond)
}

func TestHost_CrashingGuest(t *testing.T) {
	r := newHostRig(t)
	id := r.start(t, "sim:linux,crash=30ms", true)
	require.Eventually(t, func() bool { return r.info(t, id).Shutdown }, 5*time.Second, time.Millisecond)
	assert.Equal(t, hypervisor.ShutdownCrash, r.info(t, id).ShutdownReason)
}

func TestProfileForImage(t *testing.T) {
	assert.Equal(t, "linux", ProfileForImage("/boot/vmlinuz").Name)
	assert.Equal(t, "windows", ProfileForImage("sim:windows").Name)
	p := ProfileForImage("sim:hostile-noack,crash=2s,agent=5s")
	assert.Equal(t, "hostile-noack", p.Name)
	assert.Equal(t, 2*time.Second, p.CrashAfter)
	assert.Equal(t, 5*time.Second, p.AgentInterval)
	assert.Equal(t, "linux", ProfileForImage("sim:nonsense").Name)
}
