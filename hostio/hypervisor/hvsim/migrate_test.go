package hvsim_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// TestSim_LiveMigration_BetweenHosts migrates a guest that keeps writing
// from one simulated host to another over a pipe, with iterative pre-copy,
// and checks that the destination's memory equals the source's exactly.
func TestSim_LiveMigration_BetweenHosts(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	src := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 2000, WorkingSetPages: 512, Clock: clock.Now})
	dst := hvsim.New(hvsim.Config{Clock: clock.Now})
	const memKiB = 32 << 10
	id := mkDomain(t, src, testUUID, memKiB)
	require.NoError(t, src.Unpause(ctx, id))
	clock.Advance(time.Second) // the guest has been running a while
	require.NoError(t, src.WritePage(ctx, id, 3, []byte("written by dom0")))

	target, err := dst.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: memKiB})
	require.NoError(t, err)
	pr, pw := io.Pipe()
	restored := make(chan error, 1)
	go func() {
		_, err := dst.Restore(ctx, target, pr)
		_ = pr.CloseWithError(err)
		restored <- err
	}()

	require.NoError(t, src.EnableDirtyLog(ctx, id))
	all := make([]uint64, memKiB/4)
	for i := range all {
		all[i] = uint64(i)
	}
	require.NoError(t, src.ReadPages(ctx, id, all, pw))
	var rounds []int
	for range 5 {
		clock.Advance(50 * time.Millisecond) // the guest writes ~100 pages per round
		dirty, err := src.ReadDirtyLog(ctx, id, true)
		require.NoError(t, err)
		rounds = append(rounds, len(dirty))
		require.NoError(t, src.ReadPages(ctx, id, dirty, pw))
	}
	clock.Advance(10 * time.Millisecond)
	require.NoError(t, src.Pause(ctx, id))
	require.NoError(t, src.Save(ctx, id, pw, hypervisor.SaveOptions{DirtyOnly: true}))
	require.NoError(t, pw.Close())
	require.NoError(t, <-restored)

	for _, n := range rounds {
		assert.Positive(t, n, "the running guest dirtied pages each round")
	}
	assert.Equal(t, checksum(t, src, id), checksum(t, dst, target))
	page, err := dst.ReadPage(ctx, target, 3)
	require.NoError(t, err)
	assert.Equal(t, "written by dom0", string(page[:15]))
	i := info(t, dst, target)
	assert.True(t, i.Paused)
	assert.Equal(t, uint64(memKiB), i.MemoryKiB)
	assert.Zero(t, i.CPUTime, "CPU time does not travel")

	require.NoError(t, dst.Unpause(ctx, target))
	clock.Advance(time.Second)
	assert.Equal(t, time.Second, info(t, dst, target).CPUTime, "the guest runs on at the destination")
}

// TestSim_SaveRestore_BetweenHosts is the suspend-to-file case: a guest
// suspends itself, the image crosses to another host and resumes there.
func TestSim_SaveRestore_BetweenHosts(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	src := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 500, Clock: clock.Now})
	dst := hvsim.New(hvsim.Config{Clock: clock.Now})
	id := mkDomain(t, src, testUUID, 8<<10)
	require.NoError(t, src.Unpause(ctx, id))
	clock.Advance(3 * time.Second)
	require.NoError(t, src.GuestShutdown(id, hypervisor.ShutdownSuspend))
	clock.Advance(3 * time.Second)
	want := checksum(t, src, id)

	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(src.Save(ctx, id, pw, hypervisor.SaveOptions{})) }()
	target, err := dst.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 8 << 10})
	require.NoError(t, err)
	_, err = dst.Restore(ctx, target, pr)
	require.NoError(t, err)
	assert.Equal(t, want, checksum(t, dst, target))
	assert.Equal(t, want, checksum(t, src, id), "a suspended guest writes nothing")
}
