package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// tasks returns a client of the host's task registry.
func (s *server) tasks(ctx context.Context) (tasks.Client, error) {
	pid, err := s.cfg.Host.Tasks(ctx)
	if err != nil {
		return tasks.Client{}, err
	}
	return tasks.NewClient(s.system(), pid), nil
}

// taskResponse answers with t.
func taskResponse(t tasks.Task) *messages.Response {
	return &messages.Response{Result: &messages.Response_Task{Task: TaskToProto(t)}}
}

// listTasks answers ListTasks.
func (s *server) listTasks(ctx context.Context, req *messages.ListTasksRequest) (*messages.Response, error) {
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	list, err := tc.List(ctx, req.GetSubject())
	if err != nil {
		return nil, err
	}
	out := &messages.TaskList{Tasks: make([]*messages.Task, 0, len(list))}
	for _, t := range list {
		out.Tasks = append(out.Tasks, TaskToProto(t))
	}
	return &messages.Response{Result: &messages.Response_Tasks{Tasks: out}}, nil
}

// getTask answers GetTask.
func (s *server) getTask(ctx context.Context, req *messages.GetTaskRequest) (*messages.Response, error) {
	if err := checkID(req.GetId()); err != nil {
		return nil, err
	}
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	t, err := tc.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return taskResponse(t), nil
}

// waitTask answers WaitTask once the task has finished or its wait (capped
// by MaxWait) is over, with the task as it is then.
func (s *server) waitTask(ctx context.Context, req *messages.WaitTaskRequest) (*messages.Response, error) {
	if err := checkID(req.GetId()); err != nil {
		return nil, err
	}
	if req.GetTimeoutMillis() < 0 {
		return nil, fmt.Errorf("%w: negative timeout", errdefs.ErrInvalid)
	}
	wait := s.waitFor(req.GetTimeoutMillis())
	ctx, cancel := context.WithTimeout(ctx, wait+s.cfg.Timeout)
	defer cancel()
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	t, err := tc.Wait(wctx, req.GetId())
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		t, err = tc.Get(ctx, req.GetId())
	}
	if err != nil {
		return nil, err
	}
	return taskResponse(t), nil
}

// cancelTask answers CancelTask with the task as it is after the cancel.
func (s *server) cancelTask(ctx context.Context, req *messages.CancelTaskRequest) (*messages.Response, error) {
	if err := checkID(req.GetId()); err != nil {
		return nil, err
	}
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	if err := tc.Cancel(ctx, req.GetId()); err != nil {
		return nil, err
	}
	t, err := tc.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return taskResponse(t), nil
}

// destroyTask answers DestroyTask.
func (s *server) destroyTask(ctx context.Context, req *messages.DestroyTaskRequest) (*messages.Response, error) {
	if err := checkID(req.GetId()); err != nil {
		return nil, err
	}
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	if err := tc.Destroy(ctx, req.GetId()); err != nil {
		return nil, err
	}
	return empty(), nil
}
