package sim_test

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestHost_ServeSockets(t *testing.T) {
	h := simtest.NewHost(t)
	s := simtest.Serve(t, h)
	ctx := t.Context()
	hv, err := hvremote.Dial(ctx, s.Hypervisor)
	require.NoError(t, err)
	defer hv.Close()
	xs, err := xenstore.Dial(ctx, s.Xenstored)
	require.NoError(t, err)
	defer xs.Close()

	id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: "0b7c3a52-8d44-4a8e-9d0f-3f6c2b1a9e07",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 32 << 10})
	require.NoError(t, err)
	res, err := hv.Build(ctx, id, hypervisor.BuildConfig{Kernel: "sim:linux", MemoryKiB: 32 << 10})
	require.NoError(t, err)
	info, err := h.Hypervisor().DomainInfo(ctx, id)
	require.NoError(t, err, "the domain is the host's")
	require.Equal(t, uint64(32<<10), info.MemoryKiB)

	// The xenstored socket is privileged dom0: INTRODUCE works.
	require.NoError(t, xs.Introduce(ctx, uint32(id), res.StoreGFN, res.StorePort))
	require.True(t, h.Xenstore().IsIntroduced(uint32(id)))

	// Hotplug reaches the host's: a VBD without params fails there.
	err = hv.Hotplug().Add(ctx, hotplug.Device{Class: hotplug.ClassVBD, Frontend: uint32(id), DevID: 51712})
	require.ErrorContains(t, err, "no params")

	require.NoError(t, s.Close())
	for _, p := range []string{s.Xenstored, s.Hypervisor} {
		_, err := os.Stat(p)
		require.True(t, errors.Is(err, os.ErrNotExist), "%s removed: %v", p, err)
	}
	_, err = h.Hypervisor().DomainInfo(ctx, id)
	require.NoError(t, err, "closing the sockets leaves the host running")
	_, err = hv.ListDomains(ctx)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
}
