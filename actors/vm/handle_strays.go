package vm

import (
	"context"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// kindStrays is the kind of the internal operation that destroys strays.
const kindStrays = "VM.destroy_strays"

// straysOp is the internal command that destroys domains of the VM's uuid
// that are not its domain.
type straysOp struct{ domids []hypervisor.DomID }

// handleDestroyStrays queues the destruction of msg's domains behind the
// operations queued, unless one is queued already.
func (a *vmActor) handleDestroyStrays(ctx actor.Context, msg *DestroyStrays) {
	if len(msg.DomIDs) == 0 || a.st.closing {
		return
	}
	for _, op := range a.st.queue {
		if op.kind == kindStrays {
			return
		}
	}
	opCtx, cancel := context.WithCancel(context.Background())
	a.st.queue = append(a.st.queue, &operation{kind: kindStrays, taskID: newTaskID(),
		msg: &straysOp{domids: slices.Clone(msg.DomIDs)}, ctx: opCtx, cancel: cancel, internal: true})
	a.runNext(ctx)
}

// destroyStrays tears down each domain of m that is this VM's and not its
// domain, then checks the VM's own.
func (r *runner) destroyStrays(ctx context.Context, m *straysOp) *opDone {
	var firstErr error
	for _, d := range m.domids {
		if d == 0 || (r.hasDomain && d == r.domid) {
			continue
		}
		if err := r.destroyStray(ctx, d, r.hasDomain); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	done := r.check(ctx)
	if done.err == nil {
		done.err = firstErr
	}
	return done
}
