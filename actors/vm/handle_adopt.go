package vm

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// kindAdopt is the kind of the internal adopt operation.
const kindAdopt = "VM.adopt"

// adoptOp is the internal command that adopts a running domain after
// destroying the strays: domains of this VM that an interrupted operation
// left half made.
type adoptOp struct {
	domid  hypervisor.DomID
	strays []hypervisor.DomID
}

// queueAdopt queues the adoption of domid (0: none) and the destruction of
// strays in front of everything.
func (a *vmActor) queueAdopt(ctx actor.Context, domid hypervisor.DomID, strays []hypervisor.DomID) {
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append([]*operation{{kind: kindAdopt, taskID: newTaskID(),
		msg: &adoptOp{domid: domid, strays: strays}, ctx: opCtx, cancel: cancel, internal: true}}, a.st.queue...)
	a.runNext(ctx)
}

// failInterrupted fails the task of a command that was running when the
// VM actor's previous incarnation, or the daemon, ended. The task is
// created first: a restarted daemon's registry does not know it (a
// registry that does answers Exists, which changes nothing).
func (a *vmActor) failInterrupted(ctx actor.Context, op *RecordedOp) {
	if a.cfg.Tasks == nil || op.TaskID == "" {
		return
	}
	uuid := a.cfg.Spec.UUID
	ctx.Send(a.cfg.Tasks, &tasks.CreateTask{ID: op.TaskID, Kind: op.Kind, Subject: uuid})
	ctx.Send(a.cfg.Tasks, &tasks.FailTask{ID: op.TaskID, Err: fmt.Errorf(
		"%s of VM %s was interrupted: the daemon or the VM's actor stopped while it ran (started %s); "+
			"the VM was reconciled with its domain: %w", op.Kind, uuid, op.Started.Format(time.RFC3339), errdefs.ErrUnavailable)})
}

// adopt takes over domid if it is this VM's domain: the actor learns it,
// then a check reads its power state and applies the spec's action if it
// shut down meanwhile. Its devices are left as they are (the device actors
// exist for every device of the spec). A domain that is gone has its
// leftover xenstore trees removed; the VM is Halted.
func (r *runner) adopt(ctx context.Context, m *adoptOp) *opDone {
	uuid, domid := r.cfg.Spec.UUID, m.domid
	var strayErr error
	for _, s := range m.strays {
		if s == domid || s == 0 {
			continue
		}
		if err := r.destroyStray(ctx, s, domid != 0); err != nil && strayErr == nil {
			strayErr = err
		}
	}
	if domid == 0 {
		return &opDone{power: Halted, seen: true, err: strayErr}
	}
	info, err := r.cfg.Hypervisor.DomainInfo(ctx, domid)
	switch {
	case errdefs.IsNotFound(err):
		if err := r.teardown(ctx, domid); err != nil {
			// Keep the domain's id: the next check cleans up what is left.
			r.created(domid)
			r.domid, r.hasDomain = domid, true
			return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: clean up after domain %d, gone before adoption: %w",
				uuid, domid, err)}
		}
		return &opDone{power: Halted, seen: true}
	case err != nil:
		return &opDone{err: fmt.Errorf("vm %s: adopt domain %d: %w", uuid, domid, err)}
	case !strings.EqualFold(info.UUID, uuid):
		return &opDone{power: Halted, seen: true, err: fmt.Errorf("vm %s: adopt domain %d: it belongs to %q: %w",
			uuid, domid, info.UUID, errdefs.ErrConflict)}
	}
	r.created(domid)
	r.domid, r.hasDomain = domid, true
	if err := r.reconcileDevices(ctx); err != nil {
		return &opDone{hasDomain: true, err: err}
	}
	// Both are adopted, so that the teardown of a crash stops what runs.
	vgpuErr := r.adoptVGPUs(ctx, domid)
	if err := cmp.Or(r.adoptDM(ctx, domid), vgpuErr); err != nil {
		// The domain cannot run without its device model: it crashed.
		return r.dmExited(ctx, &dmExitedOp{domid: domid, why: err})
	}
	done := r.check(ctx)
	if done.err == nil {
		done.err = strayErr
	}
	return done
}

// destroyStray tears down domid if it is this VM's (a domain of another
// uuid is not touched), keeping /vm/<uuid> when keepVM (the VM has another
// domain). A domain already gone has its leftover trees removed.
func (r *runner) destroyStray(ctx context.Context, domid hypervisor.DomID, keepVM bool) error {
	info, err := r.cfg.Hypervisor.DomainInfo(ctx, domid)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("vm %s: stray domain %d: %w", r.cfg.Spec.UUID, domid, err)
	case !strings.EqualFold(info.UUID, r.cfg.Spec.UUID):
		return nil
	}
	if err := r.teardownKeep(ctx, domid, keepVM); err != nil {
		return fmt.Errorf("vm %s: destroy stray domain %d: %w", r.cfg.Spec.UUID, domid, err)
	}
	return nil
}

// reconcileDevices makes the adopted domain's PV devices those of the
// spec, rolling back a hot-plug or unplug the restart interrupted: a
// backend that is not in the spec is unplugged by force, a device of the
// spec whose backend is gone is plugged again.
func (r *runner) reconcileDevices(ctx context.Context) error {
	xs := r.cfg.Xenstore
	want := make(map[string]bool)
	for _, d := range devices(r.cfg.Spec, r.domid) {
		want[d.BackendPath()] = true
		ok, err := xs.Exists(ctx, d.BackendPath())
		if err != nil {
			return fmt.Errorf("vm %s: reconcile %s: %w", r.cfg.Spec.UUID, d, err)
		}
		if !ok {
			if err := r.onDevice(ctx, d, true); err != nil {
				return fmt.Errorf("vm %s: reconcile: plug %s again: %w", r.cfg.Spec.UUID, d, err)
			}
		}
	}
	for _, class := range []string{hotplug.ClassVBD, hotplug.ClassVIF} {
		ids, err := xs.Directory(ctx, backendRoot(class, r.domid))
		if errdefs.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("vm %s: reconcile %s devices: %w", r.cfg.Spec.UUID, class, err)
		}
		for _, id := range ids {
			devid, err := strconv.Atoi(id)
			if err != nil {
				continue
			}
			d := device{Device: hotplug.Device{Class: class, Frontend: uint32(r.domid), DevID: devid}}
			if want[d.BackendPath()] {
				continue
			}
			if err := (worker{cfg: r.cfg}).unplug(ctx, d); err != nil {
				return fmt.Errorf("vm %s: reconcile: unplug stray %s: %w", r.cfg.Spec.UUID, d, err)
			}
		}
	}
	return nil
}
