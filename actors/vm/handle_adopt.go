package vm

import (
	"context"
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// kindAdopt is the kind of the internal adopt operation.
const kindAdopt = "VM.adopt"

// adoptOp is the internal command that adopts a running domain.
type adoptOp struct{ domid hypervisor.DomID }

// queueAdopt queues the adoption of domid in front of everything.
func (a *vmActor) queueAdopt(ctx actor.Context, domid hypervisor.DomID) {
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append([]*operation{{kind: kindAdopt, taskID: newTaskID(), msg: &adoptOp{domid: domid},
		ctx: opCtx, cancel: cancel, internal: true}}, a.st.queue...)
	a.runNext(ctx)
}

// adopt takes over domid if it is this VM's domain: the actor learns it,
// then a check reads its power state and applies the spec's action if it
// shut down meanwhile. Its devices are left as they are (the device actors
// exist for every device of the spec). A domain that is gone has its
// leftover xenstore trees removed; the VM is Halted.
func (r *runner) adopt(ctx context.Context, domid hypervisor.DomID) *opDone {
	uuid := r.cfg.Spec.UUID
	info, err := r.cfg.Hypervisor.DomainInfo(ctx, domid)
	switch {
	case errdefs.IsNotFound(err):
		if err := r.teardown(ctx, domid); err != nil {
			return &opDone{err: fmt.Errorf("vm %s: clean up after domain %d, gone before adoption: %w", uuid, domid, err)}
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
	return r.check(ctx)
}
