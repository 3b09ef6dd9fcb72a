//go:build xen && linux && cgo

package xen_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hypervisortest"
	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// xenstoredSocket is where the C xenstored of a Xen host listens.
const xenstoredSocket = "/var/run/xenstored/socket"

// openHost opens the backend when the test runs in the control domain of a
// Xen host, and skips it otherwise.
func openHost(t *testing.T) *xen.Hypervisor {
	t.Helper()
	dom0, err := xen.ControlDomain(xen.CapabilitiesPath)
	require.NoError(t, err)
	if !dom0 {
		t.Skipf("not in the control domain of a Xen host (%s does not say control_d)", xen.CapabilitiesPath)
	}
	hv, err := xen.Open(xen.Config{
		Xenstore: func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, xenstoredSocket) },
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, hv.Close()) })
	return hv
}

// TestConformance runs the hypervisor conformance suite against the real
// host, building PV guests from XENACTOR_TEST_KERNEL and
// XENACTOR_TEST_RAMDISK with XENACTOR_TEST_MEMORY_KIB (default 128 MiB).
func TestConformance(t *testing.T) { testConformance(t, hypervisor.DomainTypePV) }

// TestConformancePVH is TestConformance with PVH guests.
func TestConformancePVH(t *testing.T) { testConformance(t, hypervisor.DomainTypePVH) }

func testConformance(t *testing.T, typ hypervisor.DomainType) {
	hv := openHost(t)
	kernel := os.Getenv("XENACTOR_TEST_KERNEL")
	if kernel == "" {
		t.Skip("XENACTOR_TEST_KERNEL names no guest kernel")
	}
	mem := uint64(128 << 10)
	if s := os.Getenv("XENACTOR_TEST_MEMORY_KIB"); s != "" {
		var err error
		mem, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "XENACTOR_TEST_MEMORY_KIB")
	}
	info, err := hv.HostInfo(t.Context())
	require.NoError(t, err)
	t.Logf("host: Xen %s, %d CPUs, %d of %d KiB free", info.Version, info.CPUs, info.FreeKiB, info.TotalKiB)

	hypervisortest.Run(t, func(*testing.T) hypervisor.Hypervisor { return hv },
		hypervisortest.WithBuildConfig(hypervisor.BuildConfig{Kernel: kernel,
			Ramdisk: os.Getenv("XENACTOR_TEST_RAMDISK"), Cmdline: "console=hvc0 rdinit=/init loglevel=4",
			MemoryKiB: mem}),
		hypervisortest.WithTypes(typ),
		hypervisortest.WithoutMigration(),
		hypervisortest.WithFixedVCPUs(),
		hypervisortest.WithTimeout(60*time.Second))
}
