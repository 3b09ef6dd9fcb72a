package tasks

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleGetTask answers with a snapshot of one task.
func (r *registry) handleGetTask(ctx actor.Context, msg *GetTask) {
	rec, err := r.tasks.get(msg.ID)
	r.reply(ctx, rec, err)
}

// handleListTasks answers with every task, or those of one subject.
func (r *registry) handleListTasks(ctx actor.Context, msg *ListTasks) {
	if ctx.Sender() != nil {
		ctx.Respond(&ListTasksReply{Tasks: r.tasks.list(msg.Subject)})
	}
}

// handleDestroyTask forgets a finished task.
func (r *registry) handleDestroyTask(ctx actor.Context, msg *DestroyTask) {
	rec, err := r.tasks.get(msg.ID)
	if err != nil {
		r.reply(ctx, nil, err)
		return
	}
	if !rec.task.Done() {
		r.reply(ctx, nil, fmt.Errorf("task %s is still pending: %w", msg.ID, errdefs.ErrBusy))
		return
	}
	r.tasks.remove(rec)
	r.removed(ctx, rec)
	r.reply(ctx, rec, nil)
}

// handleFailInterrupted fails every pending task with the reason given.
func (r *registry) handleFailInterrupted(ctx actor.Context, msg *FailInterrupted) {
	reason := msg.Reason
	if reason == "" {
		reason = "interrupted"
	}
	var ids []string
	for _, rec := range r.tasks.pendingRecords() {
		ids = append(ids, rec.task.ID)
		r.finish(ctx, rec, Failed, fmt.Errorf("task %s: %s: %w", rec.task.ID, reason, errdefs.ErrUnavailable))
	}
	if ctx.Sender() != nil {
		ctx.Respond(&FailInterruptedReply{IDs: ids})
	}
}
