package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// kindCheck is the kind of the internal check-state operation.
const kindCheck = "VM.check_state"

// checkOp is the internal command of a check-state operation.
type checkOp struct{ why string }

// startWatcher subscribes to the hypervisor's domain events and turns each
// into a CheckState to this actor, until stopWatcher. Under a host that
// routes the events (Config.HostEvents) it does nothing: a subscription per
// VM makes every domain event a check of every VM.
func (a *vmActor) startWatcher(ctx actor.Context) {
	a.stopWatcher()
	if a.cfg.HostEvents {
		return
	}
	wctx, cancel := context.WithCancel(context.Background())
	a.st.stopEvents = cancel
	evs, err := a.cfg.Hypervisor.Events(wctx)
	if err != nil {
		a.st.lastErr = fmt.Errorf("vm %s: domain events: %w", a.cfg.Spec.UUID, err)
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		for {
			select {
			case _, ok := <-evs:
				if !ok {
					return
				}
				root.Send(self, &CheckState{Why: "domain event"})
			case <-wctx.Done():
				return
			}
		}
	}()
}

func (a *vmActor) stopWatcher() {
	if a.st.stopEvents != nil {
		a.st.stopEvents()
		a.st.stopEvents = nil
	}
}

// handleCheckState refreshes the guest's metrics when the guest may have
// written its reports, and queues a check unless the reasons are only
// guest reports, the VM has no domain, or a check is already waiting.
func (a *vmActor) handleCheckState(ctx actor.Context, msg *CheckState) {
	refresh, check := classifyWhy(msg.Why)
	if refresh {
		a.refreshGuest(ctx)
	}
	if !check || !a.st.hasDomain {
		return
	}
	for _, op := range a.st.queue {
		if op.kind == kindCheck {
			return
		}
	}
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append(a.st.queue, &operation{kind: kindCheck, taskID: newTaskID(), msg: &checkOp{why: msg.Why},
		ctx: opCtx, cancel: cancel, internal: true})
	a.runNext(ctx)
}

// actionFor returns the spec's action for reason, with the defaults, and
// whether the reason is one a check acts on.
func actionFor(spec Spec, reason hypervisor.ShutdownReason) (Action, bool) {
	var act, def Action
	switch reason {
	case hypervisor.ShutdownPoweroff:
		act, def = spec.OnShutdown, ActionDestroy
	case hypervisor.ShutdownReboot:
		act, def = spec.OnReboot, ActionRestart
	case hypervisor.ShutdownCrash, hypervisor.ShutdownWatchdog:
		act, def = spec.OnCrash, ActionRestart
	default:
		return ActionPreserve, false // suspend (and soft reset) are left for suspend
	}
	if act == ActionDefault {
		act = def
	}
	return act, true
}

// check reads the domain's state and applies the spec's action to a
// domain that shut down; a domain that vanished is cleaned up after.
func (r *runner) check(ctx context.Context) *opDone {
	if !r.hasDomain {
		return &opDone{quiet: true, power: Halted, seen: true}
	}
	uuid := r.cfg.Spec.UUID
	info, err := r.cfg.Hypervisor.DomainInfo(ctx, r.domid)
	switch {
	case errdefs.IsNotFound(err):
		if err := r.teardown(ctx, r.domid); err != nil {
			// The VM keeps the domain's id, so that the next check (or a
			// destroy) cleans up what is left.
			return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: clean up after vanished domain %d: %w",
				uuid, r.domid, err)}
		}
		return &opDone{}
	case err != nil:
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: check domain %d: %w", uuid, r.domid, err)}
	case !info.Shutdown:
		return &opDone{hasDomain: true, quiet: true, power: powerState(info), seen: true}
	}
	act, ok := actionFor(r.cfg.Spec, info.ShutdownReason)
	if info.ShutdownReason == hypervisor.ShutdownSuspend {
		// No suspend runs (it would run instead of this check): one was
		// cancelled after the guest suspended, or the guest suspended by
		// itself. Nothing can resume the domain in place; it is left for a
		// DestroyVM, and said so once.
		return &opDone{hasDomain: true, quiet: true, power: Shutdown, seen: true,
			err: errLeftSuspended(uuid, r.domid, errors.New("no suspend saved it"))}
	}
	if !ok || act == ActionPreserve {
		return &opDone{hasDomain: true}
	}
	crash := info.ShutdownReason == hypervisor.ShutdownCrash || info.ShutdownReason == hypervisor.ShutdownWatchdog
	loop := false
	if act == ActionRestart && crash {
		now, n := time.Now(), 1
		for _, t := range r.crashes {
			if now.Sub(t) <= r.cfg.CrashLoopWindow {
				n++
			}
		}
		if n > r.cfg.CrashLoopMax {
			act, loop = ActionDestroy, true
		}
	}
	if err := r.teardown(ctx, r.domid); err != nil {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: tear down domain %d after %s: %w", uuid, r.domid,
			info.ShutdownReason, err)}
	}
	if loop {
		return &opDone{crashLoop: true, err: fmt.Errorf("vm %s: crashed more than %d times within %s: left halted: %w",
			uuid, r.cfg.CrashLoopMax, r.cfg.CrashLoopWindow, errdefs.ErrUnavailable)}
	}
	if act != ActionRestart {
		return &opDone{}
	}
	r.hasDomain = false
	done := r.start(ctx, &StartVM{})
	done.crashed = crash
	return done
}
