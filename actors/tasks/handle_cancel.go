package tasks

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleCancelTask calls a pending task's cancel function, once, and starts
// the cancel grace.
func (r *registry) handleCancelTask(ctx actor.Context, msg *CancelTask) {
	rec, err := r.tasks.pending(msg.ID)
	if err != nil {
		r.reply(ctx, nil, err)
		return
	}
	if rec.task.Cancelling {
		r.reply(ctx, rec, nil)
		return
	}
	if rec.cancel == nil {
		r.reply(ctx, nil, fmt.Errorf("task %s (%s) cannot be cancelled: %w", msg.ID, rec.task.Kind, errdefs.ErrInvalid))
		return
	}
	rec.task.Cancelling = true
	cancel := rec.cancel
	rec.cancel = nil
	if p := callCancel(cancel); p != nil {
		// The operation's bug, not the client's: the cancel stands and the
		// grace below still ends the task.
		ctx.Logger().Error("task cancel function panicked", slog.String("task", msg.ID), slog.Any("panic", p))
	}
	if r.cancelGrace > 0 {
		rec.stopGrace = r.timers.SendOnce(r.cancelGrace, ctx.Self(), &cancelExpired{id: msg.ID})
	}
	r.changed(ctx, rec)
	r.reply(ctx, rec, nil)
}

// callCancel runs an operation's cancel function and returns what it panicked
// with, if it did, so a faulty operation cannot crash the registry.
func callCancel(cancel func()) (panicked any) {
	defer func() { panicked = recover() }()
	cancel()
	return nil
}

// handleCancelExpired fails a cancelled task its operation did not finish
// within the grace.
func (r *registry) handleCancelExpired(ctx actor.Context, msg *cancelExpired) {
	rec, err := r.tasks.pending(msg.id)
	if err != nil {
		return // finished (or destroyed) in the meantime
	}
	rec.stopGrace = nil
	ctx.Logger().Warn("cancelled task not finished by its operation within the grace",
		slog.String("task", msg.id), slog.String("kind", rec.task.Kind), slog.Duration("grace", r.cancelGrace))
	r.finish(ctx, rec, Failed, fmt.Errorf("task %s: %w: not finished within %s of the cancel", msg.id, errdefs.ErrCanceled, r.cancelGrace))
}
