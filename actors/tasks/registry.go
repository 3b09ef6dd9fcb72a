package tasks

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/xenactor/xenactor/actors/events"
)

// DefaultCancelGrace is how long after a cancel the registry waits for the
// operation to finish the task before failing it itself: the reference's
// bound for leaving the system in a valid state.
const DefaultCancelGrace = 30 * time.Second

// Option configures the registry actor.
type Option func(*config)

type config struct {
	events      *actor.PID
	maxFinished int
	cancelGrace time.Duration
}

// WithEvents announces every change of a task to the update-stream actor pid
// (package events) as "task/<id>".
func WithEvents(pid *actor.PID) Option {
	return func(c *config) { c.events = pid }
}

// WithMaxFinished bounds the finished tasks kept (at least 1); past it the
// oldest finished task is destroyed.
func WithMaxFinished(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxFinished = n
		}
	}
}

// WithCancelGrace sets how long a cancelled task may stay pending before the
// registry fails it; zero or less never does.
func WithCancelGrace(d time.Duration) Option {
	return func(c *config) { c.cancelGrace = d }
}

// registry is the task-registry actor.
type registry struct {
	tasks       *table
	events      *actor.PID
	cancelGrace time.Duration
	timers      *scheduler.TimerScheduler
}

// Props returns the props of the task-registry actor. Spawn one per daemon.
func Props(opts ...Option) *actor.Props {
	cfg := config{maxFinished: DefaultMaxFinished, cancelGrace: DefaultCancelGrace}
	for _, opt := range opts {
		opt(&cfg)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &registry{
			tasks:       newTable(cfg.maxFinished),
			events:      cfg.events,
			cancelGrace: cfg.cancelGrace,
		}
	})
}

// Receive dispatches on the message type.
func (r *registry) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
	case *actor.Stopping:
		r.handleStopping(ctx)
	case *CreateTask:
		r.handleCreateTask(ctx, msg)
	case *UpdateProgress:
		r.handleUpdateProgress(ctx, msg)
	case *CompleteTask:
		r.handleCompleteTask(ctx, msg)
	case *FailTask:
		r.handleFailTask(ctx, msg)
	case *CancelTask:
		r.handleCancelTask(ctx, msg)
	case *cancelExpired:
		r.handleCancelExpired(ctx, msg)
	case *GetTask:
		r.handleGetTask(ctx, msg)
	case *ListTasks:
		r.handleListTasks(ctx, msg)
	case *DestroyTask:
		r.handleDestroyTask(ctx, msg)
	case *WaitTask:
		r.handleWaitTask(ctx, msg)
	case *forgetWaiter:
		r.handleForgetWaiter(ctx, msg)
	case *FailInterrupted:
		r.handleFailInterrupted(ctx, msg)
	}
}

// reply answers a command on one task with the task as it now is, or err.
// Commands sent without a sender (fire and forget) get no answer; their
// errors are logged at debug level, as no one else will see them.
func (r *registry) reply(ctx actor.Context, rec *record, err error) {
	if ctx.Sender() == nil {
		if err != nil {
			ctx.Logger().Debug("task command failed", "error", err)
		}
		return
	}
	answer := &TaskReply{Err: err}
	if rec != nil && err == nil {
		answer.Task = rec.task
	}
	ctx.Respond(answer)
}

// changed announces a change of rec to the update stream.
func (r *registry) changed(ctx actor.Context, rec *record) {
	if r.events != nil {
		ctx.Send(r.events, &events.Changed{ID: ObjectID(rec.task.ID)})
	}
}

// removed announces to the update stream that rec is gone.
func (r *registry) removed(ctx actor.Context, rec *record) {
	if r.events != nil {
		ctx.Send(r.events, &events.Removed{ID: ObjectID(rec.task.ID)})
	}
}
