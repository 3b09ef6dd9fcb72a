package vm

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The task kinds of the two reboots.
const (
	kindCleanReboot = "VM.reboot"
	kindHardReboot  = "VM.hard_reboot"
)

// reboot shuts the domain down for reboot, cleanly (ask the guest, wait
// for its acknowledgement and the shutdown) or hard (through the
// hypervisor), then tears it down and starts the VM again, unpaused, in a
// new domain. A clean reboot the guest does not acknowledge fails and
// leaves the domain as it was.
func (r *runner) reboot(ctx context.Context, msg *RebootVM) *opDone {
	if err := r.needDomain("reboot"); err != nil {
		return &opDone{err: err}
	}
	if msg.Hard {
		err := r.cfg.Hypervisor.Shutdown(ctx, r.domid, hypervisor.ShutdownReboot)
		if err != nil && !errdefs.IsNotFound(err) {
			return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: shut domain %d down for reboot: %w",
				r.cfg.Spec.UUID, r.domid, err)}
		}
	} else if err := r.cleanShutdown(ctx, hypervisor.ShutdownReboot); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	if err := r.teardown(ctx, r.domid); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	r.hasDomain = false
	return r.start(ctx, &StartVM{})
}

// handleReboot queues a reboot.
func (a *vmActor) handleReboot(ctx actor.Context, msg *RebootVM) {
	kind := kindCleanReboot
	if msg.Hard {
		kind = kindHardReboot
	}
	a.enqueue(ctx, kind, msg)
}
