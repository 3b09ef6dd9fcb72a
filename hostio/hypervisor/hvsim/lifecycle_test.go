package hvsim_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

func TestSim_DomIDs_WrapAndSkipUsed(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	cfg := hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1}
	first, err := s.Create(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, hypervisor.DomID(1), first, "ids start at 1")
	for want := hypervisor.DomID(2); want < hypervisor.DomIDFirstReserved; want++ {
		id, err := s.Create(ctx, cfg)
		require.NoError(t, err)
		require.Equal(t, want, id)
		require.NoError(t, s.Destroy(ctx, id))
	}
	id, err := s.Create(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, hypervisor.DomID(2), id, "after DOMID_FIRST_RESERVED the rover wraps and skips domain 1")
}

func TestSim_DomIDs_Exhausted(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{HostMemoryKiB: 64 << 20, DomainOverheadKiB: 1})
	cfg := hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1}
	for range hypervisor.DomIDFirstReserved - 1 {
		_, err := s.Create(ctx, cfg)
		require.NoError(t, err)
	}
	_, err := s.Create(ctx, cfg)
	assert.True(t, errdefs.IsResourceExhausted(err), "%v", err)
}

func TestSim_Dom0_IsProtected(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{HostMemoryKiB: 4 << 20, Dom0MemoryKiB: 1 << 20, Dom0VCPUs: 4})
	dom0 := info(t, s, hypervisor.Dom0)
	assert.Equal(t, uint64(1<<20), dom0.MemoryKiB)
	assert.Equal(t, 4, dom0.VCPUs)
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", dom0.UUID)
	_, buildErr := s.Build(ctx, hypervisor.Dom0, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 1024})
	for name, err := range map[string]error{
		"pause":    s.Pause(ctx, hypervisor.Dom0),
		"shutdown": s.Shutdown(ctx, hypervisor.Dom0, hypervisor.ShutdownPoweroff),
		"destroy":  s.Destroy(ctx, hypervisor.Dom0),
		"build":    buildErr,
		"dirtylog": s.EnableDirtyLog(ctx, hypervisor.Dom0),
	} {
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
	assert.NoError(t, s.SetMemoryTarget(ctx, hypervisor.Dom0, 512<<10))
	assert.Panics(t, func() { hvsim.New(hvsim.Config{HostMemoryKiB: 1024, Dom0MemoryKiB: 2048}) })
}

func TestSim_Hold_KeepsDestroyedDomainDying(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	var changes atomic.Int32
	cancel := s.OnChange(func() { changes.Add(1) })
	defer cancel()

	id := mkDomain(t, s, testUUID, 1024)
	free := s.FreeMemoryKiB()
	release, err := s.Hold(id)
	require.NoError(t, err)
	require.NoError(t, s.Destroy(ctx, id))
	i := info(t, s, id)
	assert.True(t, i.Dying)
	assert.False(t, i.Running || i.Blocked)
	assert.Equal(t, free, s.FreeMemoryKiB(), "a dying domain still holds its memory")
	_, buildErr := s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 8})
	for name, err := range map[string]error{
		"unpause":  s.Unpause(ctx, id),
		"pause":    s.Pause(ctx, id),
		"shutdown": s.Shutdown(ctx, id, hypervisor.ShutdownPoweroff),
		"build":    buildErr,
		"write":    s.WritePage(ctx, id, 0, []byte{1}),
	} {
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
		assert.ErrorContains(t, err, "is dying")
	}
	assert.NoError(t, s.Destroy(ctx, id), "destroying a dying domain does nothing")
	_, err = s.Hold(id)
	assert.True(t, errdefs.IsInvalid(err))

	before := changes.Load()
	release()
	release()
	_, err = s.DomainInfo(ctx, id)
	assert.True(t, errdefs.IsNotFound(err))
	assert.Equal(t, before+1, changes.Load(), "the disappearance is a change")
	assert.Equal(t, free+1024+hvsim.DefaultDomainOverheadKiB, s.FreeMemoryKiB())
}

func TestSim_GuestShutdown(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	ch, err := s.Events(ctx)
	require.NoError(t, err)
	id := mkDomain(t, s, testUUID, 1024)
	assert.True(t, errdefs.IsInvalid(s.GuestShutdown(id, hypervisor.ShutdownPoweroff)), "a paused guest runs no code")
	require.NoError(t, s.Unpause(ctx, id))
	<-ch
	require.NoError(t, s.GuestShutdown(id, hypervisor.ShutdownCrash))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no event after the guest shut down")
	}
	i := info(t, s, id)
	assert.True(t, i.Shutdown)
	assert.Equal(t, hypervisor.ShutdownCrash, i.ShutdownReason)
	assert.True(t, errdefs.IsInvalid(s.GuestShutdown(id, hypervisor.ShutdownReboot)), "a shut-down guest runs no code")
	assert.True(t, errdefs.IsNotFound(s.GuestShutdown(99, hypervisor.ShutdownReboot)))
}

func TestSim_OnChange_Cancel(t *testing.T) {
	s := hvsim.New(hvsim.Config{})
	var n atomic.Int32
	cancel := s.OnChange(func() { n.Add(1) })
	mkDomain(t, s, testUUID, 1024)
	assert.Equal(t, int32(1), n.Load(), "create is a change; build is not")
	cancel()
	mkDomain(t, s, testUUID, 1024)
	assert.Equal(t, int32(1), n.Load())
}

func TestSim_ErrorMessages(t *testing.T) {
	s := hvsim.New(hvsim.Config{})
	_, err := s.DomainInfo(context.Background(), 7)
	assert.EqualError(t, err, "domain info: domain 7: not found")
	id := mkDomain(t, s, testUUID, 1024)
	_, err = s.Build(context.Background(), id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 1024})
	assert.EqualError(t, err, fmt.Sprintf("build: domain %d: is already built: invalid argument", id))
}
