package tasks

import (
	"bytes"
	"fmt"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleCreateTask registers a pending task.
func (r *registry) handleCreateTask(ctx actor.Context, msg *CreateTask) {
	answer := func(reply *CreateTaskReply) {
		if ctx.Sender() != nil {
			ctx.Respond(reply)
		}
	}
	if msg.Kind == "" {
		answer(&CreateTaskReply{Err: fmt.Errorf("task without a kind: %w", errdefs.ErrInvalid)})
		return
	}
	rec, err := r.tasks.add(msg.ID, Task{
		Kind:    msg.Kind,
		Subject: msg.Subject,
		State:   Pending,
		Created: time.Now(),
	})
	if err != nil {
		answer(&CreateTaskReply{Err: err})
		return
	}
	rec.cancel = msg.Cancel
	observeCreated(msg.Kind)
	r.changed(ctx, rec)
	answer(&CreateTaskReply{ID: rec.task.ID})
}

// handleUpdateProgress sets a pending task's progress.
func (r *registry) handleUpdateProgress(ctx actor.Context, msg *UpdateProgress) {
	if !(msg.Progress >= 0 && msg.Progress <= 1) { // NaN too
		r.reply(ctx, nil, fmt.Errorf("task %s: progress %v outside [0, 1]: %w", msg.ID, msg.Progress, errdefs.ErrInvalid))
		return
	}
	rec, err := r.tasks.pending(msg.ID)
	if err != nil {
		r.reply(ctx, nil, err)
		return
	}
	changed := rec.task.Progress != msg.Progress
	rec.task.Progress = msg.Progress
	if msg.Detail != nil && !maps.Equal(rec.task.Detail, msg.Detail) {
		rec.task.Detail = maps.Clone(msg.Detail)
		changed = true
	}
	if changed {
		r.changed(ctx, rec)
	}
	r.reply(ctx, rec, nil)
}

// handleCompleteTask ends a pending task with its result.
func (r *registry) handleCompleteTask(ctx actor.Context, msg *CompleteTask) {
	rec, err := r.tasks.pending(msg.ID)
	if err != nil {
		r.reply(ctx, nil, err)
		return
	}
	rec.task.Result = bytes.Clone(msg.Result)
	r.finish(ctx, rec, Completed, nil)
	r.reply(ctx, rec, nil)
}

// handleFailTask ends a pending task with its error.
func (r *registry) handleFailTask(ctx actor.Context, msg *FailTask) {
	if msg.Err == nil {
		r.reply(ctx, nil, fmt.Errorf("task %s: failed without an error: %w", msg.ID, errdefs.ErrInvalid))
		return
	}
	rec, err := r.tasks.pending(msg.ID)
	if err != nil {
		r.reply(ctx, nil, err)
		return
	}
	r.finish(ctx, rec, Failed, msg.Err)
	r.reply(ctx, rec, nil)
}

// finish ends rec in state (with cause when it failed), answers its waiters,
// announces it and destroys the oldest finished tasks past the bound.
func (r *registry) finish(ctx actor.Context, rec *record, state State, cause error) {
	now := time.Now()
	observeFinished(rec.task.Kind, cause)
	rec.task.State = state
	rec.task.Finished = now
	rec.task.Duration = now.Sub(rec.task.Created)
	if state == Completed {
		rec.task.Progress = 1
	}
	if cause != nil {
		rec.task.Error = cause.Error()
		rec.task.ErrorKind = errdefs.Kind(cause)
	}
	rec.cancel = nil
	if rec.stopGrace != nil {
		rec.stopGrace()
		rec.stopGrace = nil
	}
	for _, waiter := range rec.waiters {
		ctx.Send(waiter, &TaskReply{Task: rec.task})
	}
	rec.waiters = nil
	r.changed(ctx, rec)
	for _, old := range r.tasks.markFinished(rec) {
		r.removed(ctx, old)
	}
}
