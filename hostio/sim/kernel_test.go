package sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// A guest suspended, saved and restored into a new domain comes back as
// the same guest: its kernel starts once the new domain is introduced and
// unpaused, and its frontends go through the handshake with the new
// backends.
func TestHost_RestoredGuestComesBack(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	old := r.start(t, "sim:windows", false)
	plugBoth := func(id hypervisor.DomID) []DeviceKey {
		keys := []DeviceKey{{VBD, uint32(id), 51712}, {VIF, uint32(id), 0}}
		for _, k := range keys {
			require.NoError(t, r.plug(t, k))
		}
		return keys
	}
	plugBoth(old)
	require.NoError(t, r.hv.Unpause(ctx, old))
	home := xenstore.DomainPath(uint32(old))
	require.Eventually(t, func() bool {
		v, err := r.dom0.Read(ctx, home+"/control/feature-suspend")
		return err == nil && string(v) == "1"
	}, 5*time.Second, time.Millisecond)

	require.NoError(t, r.dom0.Write(ctx, home+"/control/shutdown", []byte("suspend")))
	require.Eventually(t, func() bool { return r.info(t, old).Shutdown }, 5*time.Second, time.Millisecond)
	require.Equal(t, hypervisor.ShutdownSuspend, r.info(t, old).ShutdownReason)
	var img bytes.Buffer
	require.NoError(t, r.hv.Save(ctx, old, &img, hypervisor.SaveOptions{}))
	require.NoError(t, r.hv.Destroy(ctx, old))
	for _, p := range []string{home, "/local/domain/0/backend/vbd/" + old.String(), "/local/domain/0/backend/vif/" + old.String()} {
		require.NoError(t, r.dom0.Rm(ctx, p))
	}
	require.Eventually(t, func() bool { return r.h.Guests() == 0 }, 5*time.Second, time.Millisecond)

	id, err := r.hv.Create(ctx, hypervisor.CreateConfig{UUID: "9b7f6ae4-2c41-4d3e-9a1f-3b5c2d1e0f7a",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 2, MaxMemKiB: 1 << 20})
	require.NoError(t, err)
	res, err := r.hv.Restore(ctx, id, &img)
	require.NoError(t, err)
	domid := uint32(id)
	require.NoError(t, r.dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return WriteHome(ctx, tx, domid, 1<<20, res.StoreGFN, res.StorePort)
	}))
	require.NoError(t, r.dom0.Introduce(ctx, domid, res.StoreGFN, res.StorePort))
	keys := plugBoth(id)
	assert.Equal(t, 0, r.h.Guests(), "a restored domain stays paused")
	require.NoError(t, r.hv.Unpause(ctx, id))
	for _, k := range keys {
		r.waitState(t, k.FrontendPath(), xenbus.StateConnected)
		r.waitState(t, k.BackendPath(), xenbus.StateConnected)
	}
	// The same guest: the Windows agent reports again.
	require.Eventually(t, func() bool {
		v, err := r.dom0.Read(ctx, xenstore.DomainPath(domid)+"/data/os_name")
		return err == nil && bytes.Contains(v, []byte("Windows"))
	}, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, r.h.Guests())
}

// A restored image without the builder's note boots the default profile.
func TestHostHV_KernelImage(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	id := r.start(t, "sim:hostile-noack,crash=1h", false)
	v := hostHV{r.h.hv, r.h}
	info := r.info(t, id)
	res := hypervisor.BuildResult{StoreGFN: info.MemoryKiB/4 - 1}
	image, _ := v.kernelImage(ctx, id, res)
	assert.Equal(t, "sim:hostile-noack,crash=1h", image)
	require.NoError(t, r.h.hv.WritePage(ctx, id, res.StoreGFN, []byte("junk")))
	image, uid := v.kernelImage(ctx, id, res)
	assert.Equal(t, restoredImage, image)
	assert.Empty(t, uid)
	assert.Equal(t, "linux", ProfileForImage(restoredImage).Name)
}

// A request written before the guest's kernel runs (a guest still booting,
// or being restored) is seen when the kernel registers its watch, as
// Linux's shutdown watch does on its first event.
func TestHost_RequestBeforeTheKernelRuns(t *testing.T) {
	r := newHostRig(t)
	ctx := tctx(t)
	id := r.start(t, "sim:linux", false)
	home := xenstore.DomainPath(uint32(id))
	require.NoError(t, r.dom0.Write(ctx, home+"/control/shutdown", []byte("poweroff")))
	require.NoError(t, r.hv.Unpause(ctx, id))
	require.Eventually(t, func() bool { return r.info(t, id).Shutdown }, 5*time.Second, time.Millisecond)
	assert.Equal(t, hypervisor.ShutdownPoweroff, r.info(t, id).ShutdownReason)
	assert.Empty(t, r.read(t, home+"/control/shutdown"), "acknowledged")
}
