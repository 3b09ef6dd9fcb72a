package hvsim_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const testUUID = "5f1c9e7a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"

// mkDomain creates and builds a domain of memKiB, paused.
func mkDomain(t testing.TB, s *hvsim.Sim, uuid string, memKiB uint64) hypervisor.DomID {
	t.Helper()
	ctx := context.Background()
	id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: memKiB})
	require.NoError(t, err)
	_, err = s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "/boot/vmlinuz", MemoryKiB: memKiB})
	require.NoError(t, err)
	return id
}

func info(t testing.TB, s *hvsim.Sim, id hypervisor.DomID) hypervisor.DomainInfo {
	t.Helper()
	i, err := s.DomainInfo(context.Background(), id)
	require.NoError(t, err)
	return i
}

func checksum(t testing.TB, s *hvsim.Sim, id hypervisor.DomID) [32]byte {
	t.Helper()
	sum, err := s.MemoryChecksum(context.Background(), id)
	require.NoError(t, err)
	return sum
}
