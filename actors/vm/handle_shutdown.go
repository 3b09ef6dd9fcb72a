package vm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The task kinds of the two shutdowns.
const (
	kindCleanShutdown = "VM.shutdown"
	kindHardShutdown  = "VM.hard_shutdown"
)

// handleShutdown queues a shutdown. A hard one cancels the clean shutdowns,
// clean reboots and suspends that run or wait (they wait on the guest) and
// goes to the front of the queue.
func (a *vmActor) handleShutdown(ctx actor.Context, msg *ShutdownVM) {
	if !msg.Hard {
		a.enqueue(ctx, kindCleanShutdown, msg)
		return
	}
	a.st.queue = slices.DeleteFunc(a.st.queue, func(op *operation) bool {
		if !preemptedByHard(op.kind) {
			return false
		}
		a.finish(ctx, op, nil, fmt.Errorf("%s %s: pre-empted by a hard shutdown: %w", op.kind,
			a.cfg.Spec.UUID, errdefs.ErrCanceled))
		return true
	})
	if op := a.st.running; op != nil && preemptedByHard(op.kind) {
		op.cancel() // its opDone fails the task canceled
	}
	a.enqueueAt(ctx, kindHardShutdown, msg, true)
}

// shutdown shuts the domain down, cleanly or hard, then destroys it.
func (r *runner) shutdown(ctx context.Context, msg *ShutdownVM) *opDone {
	if err := r.needDomain("shutdown"); err != nil {
		return &opDone{err: err}
	}
	if msg.Hard {
		err := r.cfg.Hypervisor.Shutdown(ctx, r.domid, hypervisor.ShutdownPoweroff)
		if err != nil && !errdefs.IsNotFound(err) {
			return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: shut domain %d down: %w", r.cfg.Spec.UUID, r.domid, err)}
		}
	} else if err := r.cleanShutdown(ctx, hypervisor.ShutdownPoweroff); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	return r.destroy(ctx)
}

// cleanShutdown asks the guest to power off, waits for its acknowledgement
// within AckTimeout and for the domain to shut down within
// ShutdownTimeout. An HVM guest without PV drivers (no
// control/feature-poweroff) is shut down through the hypervisor instead.
func (r *runner) cleanShutdown(ctx context.Context, reason hypervisor.ShutdownReason) error {
	uuid, hv, xs := r.cfg.Spec.UUID, r.cfg.Hypervisor, r.cfg.Xenstore
	ectx, stop := context.WithCancel(ctx)
	defer stop()
	evs, err := hv.Events(ectx)
	if err != nil {
		return fmt.Errorf("vm %s: domain events: %w", uuid, err)
	}
	if r.cfg.Spec.Type == hypervisor.DomainTypeHVM &&
		readString(ctx, xs, homePath(r.domid)+"/control/feature-"+reason.String()) != "1" {
		// An HVM guest without PV drivers cannot be asked: the reference
		// shuts it down through the hypervisor.
		if err := hv.Shutdown(ctx, r.domid, reason); err != nil {
			return fmt.Errorf("vm %s: shut domain %d down: %w", uuid, r.domid, err)
		}
	} else if err := r.askGuest(ctx, reason); err != nil {
		return err
	}
	return r.waitShutdown(ctx, evs, r.cfg.ShutdownTimeout)
}

// askGuest writes the request (poweroff, reboot or suspend) and waits
// within AckTimeout for the guest to acknowledge it by writing the empty
// string. A request that was not acknowledged is withdrawn (the node is
// removed), so that a late guest does not act on it.
func (r *runner) askGuest(ctx context.Context, reason hypervisor.ShutdownReason) error {
	uuid, xs := r.cfg.Spec.UUID, r.cfg.Xenstore
	node := homePath(r.domid) + "/control/shutdown"
	if err := xs.Write(ctx, node, []byte(reason.String())); err != nil {
		return fmt.Errorf("vm %s: write %s: %w", uuid, node, err)
	}
	actx, cancel := context.WithTimeout(ctx, r.cfg.AckTimeout)
	err := waitWatch(actx, xs, node, func(ctx context.Context) (bool, error) {
		v, err := xs.Read(ctx, node)
		return err == nil && len(v) == 0, nil
	})
	cancel()
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.CleanupTimeout)
		_ = rmIfExists(cctx, xs, node)
		cancel()
		if ctx.Err() == nil && errdefs.IsTimeout(err) {
			return fmt.Errorf("vm %s: the guest did not acknowledge the %s request within %s: %w",
				uuid, reason, r.cfg.AckTimeout, errdefs.ErrTimeout)
		}
		return fmt.Errorf("vm %s: wait for the shutdown acknowledgement: %w", uuid, err)
	}
	return nil
}

// waitShutdown waits within timeout for the hypervisor to report the
// domain shut down, re-reading its state on every domain event.
func (r *runner) waitShutdown(ctx context.Context, evs <-chan struct{}, timeout time.Duration) error {
	uuid, hv := r.cfg.Spec.UUID, r.cfg.Hypervisor
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		info, err := hv.DomainInfo(sctx, r.domid)
		if errdefs.IsNotFound(err) || err == nil && (info.Shutdown || info.Dying) {
			return nil
		}
		select {
		case <-evs:
		case <-sctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vm %s: domain %d did not shut down within %s: %w", uuid, r.domid,
				timeout, errdefs.ErrTimeout)
		}
	}
}

func preemptedByHard(kind string) bool {
	return kind == kindCleanShutdown || kind == kindCleanReboot || kind == kindSuspend
}
