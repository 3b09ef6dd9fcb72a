package tasks

import (
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleWaitTask answers at once for a finished task and holds the request of
// a pending one until it finishes.
func (r *registry) handleWaitTask(ctx actor.Context, msg *WaitTask) {
	waiter := ctx.Sender()
	if waiter == nil {
		return
	}
	rec, err := r.tasks.get(msg.ID)
	if err != nil || rec.task.Done() {
		r.reply(ctx, rec, err)
		return
	}
	rec.waiters = append(rec.waiters, waiter)
}

// handleForgetWaiter answers at once a held WaitTask whose client gave up, so
// its future completes and goes.
func (r *registry) handleForgetWaiter(ctx actor.Context, msg *forgetWaiter) {
	rec, ok := r.tasks.byID[msg.id]
	if !ok {
		return
	}
	i := slices.IndexFunc(rec.waiters, func(pid *actor.PID) bool { return pid.GetId() == msg.waiter })
	if i < 0 {
		return // answered in the meantime
	}
	waiter := rec.waiters[i]
	rec.waiters = slices.Delete(rec.waiters, i, i+1)
	ctx.Send(waiter, &TaskReply{Err: fmt.Errorf("task %s: wait abandoned: %w", msg.id, errdefs.ErrCanceled)})
}

// handleStopping answers every held WaitTask, so no client waits on a
// registry that is gone, and stops the cancel-grace timers.
func (r *registry) handleStopping(ctx actor.Context) {
	r.forgetPending()
	for _, rec := range r.tasks.byID {
		for _, waiter := range rec.waiters {
			ctx.Send(waiter, &TaskReply{Err: fmt.Errorf("task %s: registry stopping: %w", rec.task.ID, errdefs.ErrUnavailable)})
		}
		rec.waiters = nil
		if rec.stopGrace != nil {
			rec.stopGrace()
			rec.stopGrace = nil
		}
	}
}
