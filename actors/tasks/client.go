package tasks

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of the task-registry actor. Operations running inside
// actors may equally Send the commands (UpdateProgress, CompleteTask,
// FailTask) without waiting for a reply.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the registry actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{root: system.Root, pid: pid}
}

// PID returns the registry actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Create registers a pending task and returns its id.
func (c Client) Create(ctx context.Context, req CreateTask) (string, error) {
	reply, err := request.Ask[*CreateTaskReply](ctx, c.root, c.pid, &req, nil)
	if err != nil {
		return "", err
	}
	return reply.ID, reply.Err
}

// UpdateProgress sets a pending task's progress, between 0 and 1.
func (c Client) UpdateProgress(ctx context.Context, id string, progress float64) error {
	_, err := c.task(ctx, &UpdateProgress{ID: id, Progress: progress}, nil)
	return err
}

// UpdateProgressDetail sets a pending task's progress, between 0 and 1, and
// replaces its detail (Task.Detail) with a copy of detail.
func (c Client) UpdateProgressDetail(ctx context.Context, id string, progress float64, detail map[string]string) error {
	_, err := c.task(ctx, &UpdateProgress{ID: id, Progress: progress, Detail: detail}, nil)
	return err
}

// Complete ends a pending task with its result.
func (c Client) Complete(ctx context.Context, id string, result []byte) error {
	_, err := c.task(ctx, &CompleteTask{ID: id, Result: result}, nil)
	return err
}

// Fail ends a pending task with cause.
func (c Client) Fail(ctx context.Context, id string, cause error) error {
	_, err := c.task(ctx, &FailTask{ID: id, Err: cause}, nil)
	return err
}

// Cancel asks a pending task's operation to stop; see CancelTask.
func (c Client) Cancel(ctx context.Context, id string) error {
	_, err := c.task(ctx, &CancelTask{ID: id}, nil)
	return err
}

// Get returns a snapshot of task id.
func (c Client) Get(ctx context.Context, id string) (Task, error) {
	return c.task(ctx, &GetTask{ID: id}, nil)
}

// Destroy forgets the finished task id.
func (c Client) Destroy(ctx context.Context, id string) error {
	_, err := c.task(ctx, &DestroyTask{ID: id}, nil)
	return err
}

// Wait returns task id once it has finished; the task's own failure is in
// Task.Err, while the error is for an unknown task or ctx ending first.
func (c Client) Wait(ctx context.Context, id string) (Task, error) {
	forget := func(waiter string) { c.root.Send(c.pid, &forgetWaiter{id: id, waiter: waiter}) }
	return c.task(ctx, &WaitTask{ID: id}, forget)
}

// List returns every task, or those of subject when it is not empty, oldest
// first.
func (c Client) List(ctx context.Context, subject string) ([]Task, error) {
	reply, err := request.Ask[*ListTasksReply](ctx, c.root, c.pid, &ListTasks{Subject: subject}, nil)
	if err != nil {
		return nil, err
	}
	return reply.Tasks, nil
}

// FailInterrupted fails every pending task with reason and returns their ids.
func (c Client) FailInterrupted(ctx context.Context, reason string) ([]string, error) {
	reply, err := request.Ask[*FailInterruptedReply](ctx, c.root, c.pid, &FailInterrupted{Reason: reason}, nil)
	if err != nil {
		return nil, err
	}
	return reply.IDs, nil
}

// task sends a command on one task and unwraps its TaskReply.
func (c Client) task(ctx context.Context, msg any, abandon func(waiter string)) (Task, error) {
	reply, err := request.Ask[*TaskReply](ctx, c.root, c.pid, msg, abandon)
	if err != nil {
		return Task{}, err
	}
	return reply.Task, reply.Err
}
