package vm_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// buildRecorder records the configs domains are built with.
type buildRecorder struct {
	hypervisor.Hypervisor
	mu     sync.Mutex
	builds []hypervisor.BuildConfig
}

func (b *buildRecorder) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (
	hypervisor.BuildResult, error) {
	b.mu.Lock()
	b.builds = append(b.builds, cfg)
	b.mu.Unlock()
	return b.Hypervisor.Build(ctx, id, cfg)
}

// A start builds the domain with the spec's kernel, ramdisk and command
// line, as xenguest is given them.
func TestVMActor_Start_BuildsWithRamdiskAndCmdline(t *testing.T) {
	e := newEnv(t)
	rec := &buildRecorder{Hypervisor: e.hv}
	spec := newSpec("sim:linux")
	spec.Ramdisk, spec.Cmdline = "/guest/initrd", "console=hvc0 rdinit=/init"
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.Hypervisor = rec })
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.builds, 1)
	got := rec.builds[0]
	require.Equal(t, "sim:linux", got.Kernel)
	require.Equal(t, "/guest/initrd", got.Ramdisk)
	require.Equal(t, "console=hvc0 rdinit=/init", got.Cmdline)
}
