package vm

import (
	"context"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Xenguest is the domain builder that the build step of a start runs
// instead of calling the hypervisor's Build in the daemon, as xenopsd runs
// xenguest -mode *_build (cmd/xenactor-xenguest is the project's). It runs
// in its own process group and is bounded like the save/restore helper: a
// builder that exits without a result, prints nothing within Timeout, or
// prints what is not the protocol fails the start at once, its process
// group is killed and reaped, and the start's cleanup destroys the domain.
type Xenguest struct {
	// Path is the builder's executable.
	Path string
	// Hypervisor is the hvremote socket the builder reaches the hypervisor
	// on (sim.HypervisorSocket of the host).
	Hypervisor string
	// Timeout bounds the wait for the builder's result (a line reporting
	// more progress restarts it) and for its exit after it; 0 means
	// emu.DefaultStepTimeout.
	Timeout time.Duration
	// AbortGrace is how long a builder has to exit after abort (a failure
	// or a cancel) before its process group is killed; 0 means
	// emu.DefaultAbortGrace.
	AbortGrace time.Duration
}

// buildWithHelper builds domid in the xenguest helper, with the arguments
// xenopsd passes xenguest, and returns the frames and ports the bring-up
// introduces. The helper is gone when it returns.
func (r *runner) buildWithHelper(ctx context.Context, domid hypervisor.DomID) (hypervisor.BuildResult, error) {
	xg, spec := r.cfg.Xenguest, r.cfg.Spec
	if spec.MemoryKiB%emu.KiBPerMiB != 0 {
		return hypervisor.BuildResult{}, fmt.Errorf("xenguest takes whole MiB: memory %d KiB: %w", spec.MemoryKiB,
			errdefs.ErrInvalid)
	}
	mib := spec.MemoryKiB / emu.KiBPerMiB
	return emu.Build(ctx, emu.BuildRun{Path: xg.Path, Timeout: xg.Timeout, AbortGrace: xg.AbortGrace,
		OnInfo: r.helperInfo,
		Args: emu.BuildArgs{Mode: emu.BuildModeOf(spec.Type), DomID: domid, MemMaxMiB: mib, MemStartMiB: mib,
			Image: spec.Kernel, Ramdisk: spec.Ramdisk, Cmdline: spec.Cmdline, StoreDomID: hypervisor.Dom0, ConsoleDomID: hypervisor.Dom0,
			Hypervisor: xg.Hypervisor}})
}
