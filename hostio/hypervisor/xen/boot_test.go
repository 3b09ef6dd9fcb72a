//go:build xen && linux && cgo

package xen_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// TestBootPV boots a real PV guest: XENACTOR_TEST_KERNEL and
// XENACTOR_TEST_RAMDISK must make a Linux guest that powers itself off.
// The test writes the domain's home, introduces it to xenstored
// (xenconsoled serves its console), waits for the kernel to write
// control/feature-poweroff and for the guest's own shutdown.
func TestBootPV(t *testing.T) { testBoot(t, hypervisor.DomainTypePV) }

// TestBootPVH boots the same guest as PVH, until its kernel writes
// control/feature-poweroff.
func TestBootPVH(t *testing.T) { testBoot(t, hypervisor.DomainTypePVH) }

func testBoot(t *testing.T, typ hypervisor.DomainType) {
	hv := openHost(t)
	kernel, ramdisk := os.Getenv("XENACTOR_TEST_KERNEL"), os.Getenv("XENACTOR_TEST_RAMDISK")
	if kernel == "" || ramdisk == "" {
		t.Skip("XENACTOR_TEST_KERNEL and XENACTOR_TEST_RAMDISK name no guest that powers itself off")
	}
	ctx := t.Context()
	xs, err := xenstore.Dial(ctx, xenstoredSocket)
	require.NoError(t, err)
	t.Cleanup(func() { _ = xs.Close() })

	events, err := hv.Events(ctx)
	require.NoError(t, err)
	const memKiB = 128 << 10
	uuid := "6c1e7c5e-3a7b-4d1e-9a52-0b5d2f1a7e0" + strconv.Itoa(int(typ))
	id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: typ, MaxVCPUs: 1,
		MaxMemKiB: memKiB})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = hv.Destroy(context.Background(), id)
		_ = xs.Release(context.Background(), uint32(id))
		_ = xs.Rm(context.Background(), "/local/domain/"+id.String())
	})
	start := time.Now()
	res, err := hv.Build(ctx, id, hypervisor.BuildConfig{Kernel: kernel, Ramdisk: ramdisk,
		Cmdline: "console=hvc0 rdinit=/init loglevel=4", MemoryKiB: memKiB, ConsoleDomid: hypervisor.Dom0,
		StoreDomid: hypervisor.Dom0})
	require.NoError(t, err)
	t.Logf("built domain %d in %v: %+v", id, time.Since(start), res)

	home := "/local/domain/" + id.String()
	d := uint32(id)
	require.NoError(t, xs.MkdirPerms(ctx, home, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone},
		{Domid: d, Access: xenstore.AccessRead}}))
	for _, sub := range []string{"device", "control", "data"} {
		require.NoError(t, xs.MkdirPerms(ctx, home+"/"+sub, []xenstore.Perm{{Domid: d, Access: xenstore.AccessNone}}))
	}
	require.NoError(t, xs.WriteKeys(ctx, home, [][2]string{{"domid", id.String()}, {"name", "xenhv-boot-" + typ.String()},
		{"memory/target", strconv.Itoa(memKiB)},
		{"store/port", strconv.FormatUint(uint64(res.StorePort), 10)},
		{"store/ring-ref", strconv.FormatUint(res.StoreGFN, 10)},
		{"console/ring-ref", strconv.FormatUint(res.ConsoleGFN, 10)},
		{"console/port", strconv.FormatUint(uint64(res.ConsolePort), 10)},
		{"console/limit", "1048576"}, {"console/type", "xenconsoled"}}))
	require.NoError(t, xs.Introduce(ctx, d, res.StoreGFN, res.StorePort))
	require.NoError(t, hv.Unpause(ctx, id))

	// A booted Linux announces what control/shutdown may ask: its xenbus
	// reached xenstored through the ring and event channel of the build.
	require.Eventually(t, func() bool {
		v, err := xs.Read(ctx, home+"/control/feature-poweroff")
		return err == nil && string(v) == "1"
	}, 4*time.Minute, 500*time.Millisecond, "the guest kernel did not write control/feature-poweroff")
	t.Logf("guest kernel up %v after the build started", time.Since(start))
	if typ == hypervisor.DomainTypePVH {
		// Without ACPI tables the guest's own power-off halts instead.
		return
	}

	// Only events wake the loop: the guest's own shutdown must be seen.
	deadline := time.After(4 * time.Minute)
	for {
		info, err := hv.DomainInfo(ctx, id)
		require.NoError(t, err)
		if info.Shutdown {
			t.Logf("guest shut down after %v: %+v", time.Since(start), info)
			require.Equal(t, hypervisor.ShutdownPoweroff, info.ShutdownReason, "the guest powered itself off")
			return
		}
		select {
		case _, ok := <-events:
			require.True(t, ok, "events channel closed")
		case <-deadline:
			t.Fatalf("no event saying the guest powered off: %+v", info)
		}
	}
}
