package hvsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

func TestSim_Dirtying_FollowsRateAndClock(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 100, WorkingSetPages: 1024, Clock: clock.Now})
	id := mkDomain(t, s, testUUID, 64<<10) // 16384 pages: a working-set stride of 16
	require.NoError(t, s.EnableDirtyLog(ctx, id))

	clock.Advance(10 * time.Second)
	writes, err := s.GuestWrites(id)
	require.NoError(t, err)
	assert.Zero(t, writes, "a paused guest writes nothing")

	require.NoError(t, s.Unpause(ctx, id))
	clock.Advance(500 * time.Millisecond)
	dirty, err := s.ReadDirtyLog(ctx, id, true)
	require.NoError(t, err)
	writes, _ = s.GuestWrites(id)
	assert.Equal(t, uint64(50), writes)
	assert.LessOrEqual(t, len(dirty), 50)
	assert.GreaterOrEqual(t, len(dirty), 40, "few of 50 writes over 1024 pages collide")
	for _, pfn := range dirty {
		assert.Zero(t, pfn%16, "pfn %#x is in the working set", pfn)
	}

	clock.Advance(5 * time.Millisecond) // half a page: carried over
	writes, _ = s.GuestWrites(id)
	assert.Equal(t, uint64(50), writes)
	clock.Advance(5 * time.Millisecond)
	writes, _ = s.GuestWrites(id)
	assert.Equal(t, uint64(51), writes)

	require.NoError(t, s.Pause(ctx, id))
	clock.Advance(time.Second)
	writes, _ = s.GuestWrites(id)
	assert.Equal(t, uint64(51), writes, "pausing stops the guest")
	assert.Equal(t, 510*time.Millisecond, info(t, s, id).CPUTime, "CPU time counts running time only")
}

func TestSim_Dirtying_Deterministic(t *testing.T) {
	run := func() ([32]byte, []uint64) {
		clock := newFakeClock()
		s := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 1000, Clock: clock.Now})
		id := mkDomain(t, s, testUUID, 16<<10)
		require.NoError(t, s.EnableDirtyLog(context.Background(), id))
		require.NoError(t, s.Unpause(context.Background(), id))
		for range 5 {
			clock.Advance(100 * time.Millisecond)
			_, err := s.DomainInfo(context.Background(), id)
			require.NoError(t, err)
		}
		dirty, err := s.ReadDirtyLog(context.Background(), id, false)
		require.NoError(t, err)
		return checksum(t, s, id), dirty
	}
	sumA, dirtyA := run()
	sumB, dirtyB := run()
	assert.Equal(t, sumA, sumB)
	assert.Equal(t, dirtyA, dirtyB)
	assert.NotEqual(t, [32]byte{}, sumA)
}

func TestSim_Dirtying_CappedPerObservation(t *testing.T) {
	clock := newFakeClock()
	s := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 1_000_000, WorkingSetPages: 8, Clock: clock.Now})
	id := mkDomain(t, s, testUUID, 16<<10)
	require.NoError(t, s.Unpause(context.Background(), id))
	clock.Advance(100 * 365 * 24 * time.Hour)
	writes, err := s.GuestWrites(id)
	require.NoError(t, err)
	assert.Equal(t, uint64(4*8), writes, "one observation writes at most 4 working sets")
	assert.Equal(t, 100*365*24*time.Hour, info(t, s, id).CPUTime)
}

func TestSim_Dirtying_SparesRingPages(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 10_000, Clock: clock.Now})
	id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePVH, MaxVCPUs: 1, MaxMemKiB: 64})
	require.NoError(t, err)
	res, err := s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 64}) // 16 pages, all in the working set
	require.NoError(t, err)
	require.NoError(t, s.Unpause(ctx, id))
	zero := make([]byte, hypervisor.PageSize)
	for range 10 {
		clock.Advance(time.Second)
		for _, pfn := range []uint64{res.StoreGFN, res.ConsoleGFN} {
			page, err := s.ReadPage(ctx, id, pfn)
			require.NoError(t, err)
			assert.Equal(t, zero, page, "ring page %#x", pfn)
		}
	}
	page, err := s.ReadPage(ctx, id, 0)
	require.NoError(t, err)
	assert.NotEqual(t, zero, page, "other pages were written")
}

func TestSim_RunningOrBlocked(t *testing.T) {
	s := hvsim.New(hvsim.Config{})
	id := mkDomain(t, s, testUUID, 1024)
	require.NoError(t, s.Unpause(context.Background(), id))
	i := info(t, s, id)
	assert.True(t, i.Blocked && !i.Running, "an idle guest blocks: %+v", i)
	require.NoError(t, s.SetDirtyRate(id, 10))
	i = info(t, s, id)
	assert.True(t, i.Running && !i.Blocked, "a writing guest runs: %+v", i)
	assert.Error(t, s.SetDirtyRate(id, -1))
	assert.Error(t, s.SetDirtyRate(hypervisor.Dom0, 1))
	dom0 := info(t, s, hypervisor.Dom0)
	assert.True(t, dom0.Running)
}
