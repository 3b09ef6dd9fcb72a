package hvsim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestSim_MemoryAccounting(t *testing.T) {
	ctx := context.Background()
	const host, dom0, overhead = 64 << 10, 8 << 10, 256 // KiB
	s := hvsim.New(hvsim.Config{HostMemoryKiB: host, Dom0MemoryKiB: dom0, DomainOverheadKiB: overhead})
	assert.Equal(t, uint64(host-dom0), s.FreeMemoryKiB())

	a := mkDomain(t, s, testUUID, 16<<10)
	assert.Equal(t, uint64(host-dom0-overhead-16<<10), s.FreeMemoryKiB())
	require.NoError(t, s.WritePage(ctx, a, 3, []byte("data")))
	assert.Equal(t, uint64(host-dom0-overhead-16<<10), s.FreeMemoryKiB(), "writing pages is not accounting")

	cfg := hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypeHVM, MaxVCPUs: 1, MaxMemKiB: 64 << 10}
	b, err := s.Create(ctx, cfg)
	require.NoError(t, err)
	free := s.FreeMemoryKiB()
	_, err = s.Build(ctx, b, hypervisor.BuildConfig{Firmware: "hvmloader", MemoryKiB: free + 4})
	require.Error(t, err)
	assert.True(t, errdefs.IsResourceExhausted(err))
	assert.ErrorContains(t, err, "need 40452 KiB, host has 40448 KiB free")
	assert.Equal(t, free, s.FreeMemoryKiB(), "a failed build reserves nothing")
	_, err = s.Build(ctx, b, hypervisor.BuildConfig{Firmware: "hvmloader", MemoryKiB: free})
	require.NoError(t, err, "the host can be filled exactly")
	assert.Zero(t, s.FreeMemoryKiB())

	_, err = s.Create(ctx, cfg)
	assert.True(t, errdefs.IsResourceExhausted(err), "creation needs its overhead: %v", err)
	assert.ErrorContains(t, err, "need 256 KiB, host has 0 KiB free")

	require.NoError(t, s.Destroy(ctx, a))
	assert.Equal(t, uint64(overhead+16<<10), s.FreeMemoryKiB(), "destroy frees memory and overhead")
}

func TestSim_Restore_HostFull(t *testing.T) {
	ctx := context.Background()
	src := hvsim.New(hvsim.Config{})
	id := mkDomain(t, src, testUUID, 32<<10)
	require.NoError(t, src.WritePage(ctx, id, 1, []byte("x")))
	var img bytes.Buffer
	require.NoError(t, src.Save(ctx, id, &img, hypervisor.SaveOptions{}))

	dst := hvsim.New(hvsim.Config{HostMemoryKiB: 32 << 10, Dom0MemoryKiB: 4 << 10})
	target, err := dst.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 32 << 10})
	require.NoError(t, err)
	free := dst.FreeMemoryKiB()
	_, err = dst.Restore(ctx, target, &img)
	assert.True(t, errdefs.IsResourceExhausted(err), "%v", err)
	assert.Equal(t, free, dst.FreeMemoryKiB())
	assert.Zero(t, info(t, dst, target).MemoryKiB, "the target is untouched")
}
