package hvsim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestWritePageAt_KeepsTheRestOfThePage(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	id := mkDomain(t, s, testUUID, 64<<10)
	require.NoError(t, s.WritePage(ctx, id, 3, bytes.Repeat([]byte{0xaa}, hypervisor.PageSize)))
	require.NoError(t, s.WritePageAt(ctx, id, 3, 100, []byte{1, 2, 3}))
	p, err := s.ReadPage(ctx, id, 3)
	require.NoError(t, err)
	require.Equal(t, []byte{0xaa, 1, 2, 3, 0xaa}, p[99:104])
	require.NoError(t, s.WritePageAt(ctx, id, 3, hypervisor.PageSize-1, []byte{9}))

	for _, off := range []int{-1, hypervisor.PageSize, hypervisor.PageSize - 1} {
		err := s.WritePageAt(ctx, id, 3, off, []byte{1, 2})
		require.True(t, errdefs.IsInvalid(err), "offset %d: %v", off, err)
	}
	require.True(t, errdefs.IsInvalid(s.WritePageAt(ctx, id, 1<<40, 0, []byte{1})))
}

func TestReadPageAt_ReadsPartOfAPage(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	id := mkDomain(t, s, testUUID, 64<<10)
	got, err := s.ReadPageAt(ctx, id, 3, 100, 4)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 0}, got, "a page never written reads as zeroes")
	require.NoError(t, s.WritePageAt(ctx, id, 3, 100, []byte{1, 2, 3}))
	got, err = s.ReadPageAt(ctx, id, 3, 99, 5)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2, 3, 0}, got)
	got, err = s.ReadPageAt(ctx, id, 3, hypervisor.PageSize-1, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)

	for _, r := range [][2]int{{-1, 1}, {hypervisor.PageSize - 1, 2}, {0, -1}, {hypervisor.PageSize + 1, 0}} {
		_, err := s.ReadPageAt(ctx, id, 3, r[0], r[1])
		require.True(t, errdefs.IsInvalid(err), "%d bytes at %d: %v", r[1], r[0], err)
	}
	_, err = s.ReadPageAt(ctx, id, 1<<40, 0, 1)
	require.True(t, errdefs.IsInvalid(err))
}

func TestRings_AreTheBuildResult(t *testing.T) {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 64 << 10})
	require.NoError(t, err)
	_, err = s.Rings(ctx, id)
	require.True(t, errdefs.IsInvalid(err), "not built: %v", err)
	res, err := s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 64 << 10})
	require.NoError(t, err)
	got, err := s.Rings(ctx, id)
	require.NoError(t, err)
	require.Equal(t, res, got)
	require.NotZero(t, got.ConsoleGFN)
}
