package client

import (
	"context"
	"time"

	"github.com/xenactor/xenactor/messages"
)

// DefaultWaitPoll is how long each WaitTask of Wait asks the daemon to wait;
// the daemon caps it with its own maximum.
const DefaultWaitPoll = 30 * time.Second

// Task is the handle of the task that follows an operation.
type Task struct {
	ID string
	// Host is the pool host the task runs on, when the operation was
	// routed (Client.On, LeastLoaded); "" for the daemon called.
	Host string
	c    *Client
}

// Wait waits for the task to finish; see Client.Wait.
func (t *Task) Wait(ctx context.Context, progress func(*messages.Task)) (*messages.Task, error) {
	return t.c.Wait(ctx, t.ID, progress)
}

// Tasks returns every task, or those of subject (a VM's uuid) when it is not
// empty, oldest first.
func (c *Client) Tasks(ctx context.Context, subject string) ([]*messages.Task, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_ListTasks{ListTasks: &messages.ListTasksRequest{
		Subject: subject}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetTasks(); r != nil {
		return r.Tasks, nil
	}
	return nil, unexpected("TaskList", resp)
}

// Task returns a snapshot of task id.
func (c *Client) Task(ctx context.Context, id string) (*messages.Task, error) {
	return c.task(ctx, &messages.Request{Op: &messages.Request_GetTask{GetTask: &messages.GetTaskRequest{Id: id}}})
}

// WaitTask returns task id once it has finished, or once timeout (capped by
// the daemon; 0 takes the daemon's maximum) has passed with the task still
// pending.
func (c *Client) WaitTask(ctx context.Context, id string, timeout time.Duration) (*messages.Task, error) {
	return c.task(ctx, &messages.Request{Op: &messages.Request_WaitTask{WaitTask: &messages.WaitTaskRequest{Id: id,
		TimeoutMillis: timeout.Milliseconds()}}})
}

// CancelTask asks the operation of the pending task id to stop and returns
// the task as it is then (Cancelling).
func (c *Client) CancelTask(ctx context.Context, id string) (*messages.Task, error) {
	return c.task(ctx, &messages.Request{Op: &messages.Request_CancelTask{CancelTask: &messages.CancelTaskRequest{
		Id: id}}})
}

// DestroyTask forgets the finished task id.
func (c *Client) DestroyTask(ctx context.Context, id string) error {
	return c.empty(ctx, &messages.Request{Op: &messages.Request_DestroyTask{DestroyTask: &messages.DestroyTaskRequest{
		Id: id}}})
}

// Wait waits for task id to finish, polling with WaitTask (DefaultWaitPoll,
// less when ctx ends sooner) and calling progress, if not nil, with each
// snapshot of the task still pending. It returns the finished task, and the
// task's own failure as an *Error (with its errdefs kind) when it failed.
func (c *Client) Wait(ctx context.Context, id string, progress func(*messages.Task)) (*messages.Task, error) {
	for {
		poll := DefaultWaitPoll
		if dl, ok := ctx.Deadline(); ok {
			poll = min(poll, max(time.Until(dl), time.Millisecond))
		}
		t, err := c.WaitTask(ctx, id, poll)
		if err != nil {
			return nil, err
		}
		if t.State != messages.TaskState_TASK_STATE_PENDING {
			if t.State == messages.TaskState_TASK_STATE_FAILED {
				e := &Error{Message: "task " + id + " failed"}
				if t.Error != nil {
					e.Kind, e.Message = t.Error.Kind, t.Error.Message
				}
				return t, e
			}
			return t, nil
		}
		if progress != nil {
			progress(t)
		}
		if err := ctx.Err(); err != nil {
			return t, err
		}
	}
}

// task sends a request answered with a Task.
func (c *Client) task(ctx context.Context, req *messages.Request) (*messages.Task, error) {
	resp, err := c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	if r := resp.GetTask(); r != nil {
		return r, nil
	}
	return nil, unexpected("Task", resp)
}
