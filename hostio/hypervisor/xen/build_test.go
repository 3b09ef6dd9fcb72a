//go:build xen && linux && cgo

package xen_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// TestBuild_LibraryErrors checks the kinds of the builder's own failures:
// a file that is no kernel is ErrInvalid, a kernel larger than the
// domain's memory ErrResourceExhausted, both naming the builder's stage.
func TestBuild_LibraryErrors(t *testing.T) {
	hv := openHost(t)
	kernel, ramdisk := os.Getenv("XENACTOR_TEST_KERNEL"), os.Getenv("XENACTOR_TEST_RAMDISK")
	if kernel == "" || ramdisk == "" {
		t.Skip("XENACTOR_TEST_KERNEL and XENACTOR_TEST_RAMDISK name no guest")
	}
	ctx := t.Context()
	for name, tc := range map[string]struct {
		cfg  hypervisor.BuildConfig
		kind error
	}{
		"not a kernel":     {hypervisor.BuildConfig{Kernel: ramdisk, MemoryKiB: 128 << 10}, errdefs.ErrInvalid},
		"kernel too large": {hypervisor.BuildConfig{Kernel: kernel, MemoryKiB: 8 << 10}, errdefs.ErrResourceExhausted},
	} {
		id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: "5f0c2a4e-8b1d-4e3a-9c7f-2d6b0a1e3c5f",
			Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 128 << 10})
		require.NoError(t, err)
		_, err = hv.Build(ctx, id, tc.cfg)
		require.ErrorIs(t, err, tc.kind, "%s: %v", name, err)
		require.ErrorContains(t, err, "xc_dom_", name)
		t.Logf("%s: %v", name, err)
		require.NoError(t, hv.Destroy(context.Background(), id))
	}
}
