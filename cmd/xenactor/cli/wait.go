package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// progressPoll is how long each WaitTask asks the daemon to wait while a
// progress bar is drawn: the bar is redrawn after each.
const progressPoll = 250 * time.Millisecond

// cancelGrace bounds the CancelTask sent when waiting is interrupted with
// --cancel-on-interrupt.
const cancelGrace = 5 * time.Second

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// waitFlags are the flags of the commands that wait for a task.
type waitFlags struct {
	noWait            bool
	cancelOnInterrupt bool
}

// addWaitFlags adds --no-wait (when noWait) and --cancel-on-interrupt to cmd.
func addWaitFlags(cmd *cobra.Command, f *waitFlags, noWait bool) {
	if noWait {
		cmd.Flags().BoolVar(&f.noWait, "no-wait", false, "print the task's id and return without waiting for it")
	}
	cmd.Flags().BoolVar(&f.cancelOnInterrupt, "cancel-on-interrupt", false,
		"cancel the task when waiting is interrupted (Ctrl-C); by default it goes on")
}

// operate starts an operation with start and, unless --no-wait, waits for
// its task. It prints the task's id (--no-wait), the finished task (--json)
// or nothing.
func (a *app) operate(ctx context.Context, c *client.Client, f *waitFlags, label string,
	start func(context.Context) (*client.Task, error)) error {
	task, err := start(ctx)
	if err != nil {
		return err
	}
	if f.noWait {
		if a.json {
			return a.printJSON(&messages.TaskRef{Id: task.ID})
		}
		_, err := fmt.Fprintln(a.opts.Stdout, task.ID)
		return err
	}
	if task.Host != "" && task.Host != c.Host() {
		// The task lives on the pool host that ran the operation.
		c = c.On(task.Host)
	}
	t, err := a.wait(ctx, c, task.ID, label, f)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(t)
	}
	return nil
}

// wait waits for task id to finish, drawing a progress bar labelled label on
// stderr when it is a terminal. A task that failed is a *taskError. When ctx
// ends first (Ctrl-C, --timeout) the task goes on, unless
// --cancel-on-interrupt asks to cancel it on an interrupt.
func (a *app) wait(ctx context.Context, c *client.Client, id, label string, f *waitFlags) (*messages.Task, error) {
	poll := client.DefaultWaitPoll
	if a.opts.IsTerminal {
		poll = progressPoll
	}
	drawn := false
	if a.opts.IsTerminal {
		a.drawBar(label, &messages.Task{Id: id})
		drawn = true
	}
	defer func() {
		if drawn {
			fmt.Fprintln(a.opts.Stderr)
		}
	}()
	for {
		p := poll
		if dl, ok := ctx.Deadline(); ok {
			p = min(p, max(time.Until(dl), time.Millisecond))
		}
		t, err := c.WaitTask(ctx, id, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.interrupted(ctx, c, id, f)
			}
			return nil, err
		}
		if drawn {
			a.drawBar(label, t)
		}
		switch t.State {
		case messages.TaskState_TASK_STATE_COMPLETED:
			return t, nil
		case messages.TaskState_TASK_STATE_FAILED:
			e := &client.Error{Message: "no reason given"}
			if t.Error != nil {
				e.Kind, e.Message = t.Error.Kind, t.Error.Message
			}
			return t, &taskError{id: id, err: e}
		}
		if ctx.Err() != nil {
			return nil, a.interrupted(ctx, c, id, f)
		}
	}
}

// interrupted is the error of a wait whose ctx ended; it cancels the task
// first when the wait was interrupted and --cancel-on-interrupt asks so.
func (a *app) interrupted(ctx context.Context, c *client.Client, id string, f *waitFlags) error {
	err := ctx.Err()
	if errors.Is(err, context.Canceled) && f.cancelOnInterrupt {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
		defer cancel()
		if _, cerr := c.CancelTask(cctx, id); cerr != nil {
			return fmt.Errorf("stopped waiting for task %s, and could not cancel it: %v: %w", id, cerr, err)
		}
		return fmt.Errorf("stopped waiting for task %s and asked it to cancel: %w", id, err)
	}
	return fmt.Errorf("stopped waiting for task %s, which goes on: %w", id, err)
}

// drawBar redraws the progress bar of t on stderr, followed by the task's
// detail while it is pending (a migration's bytes sent, round, dirty rate);
// the rest of the line is cleared.
func (a *app) drawBar(label string, t *messages.Task) {
	p := t.Progress
	if t.State == messages.TaskState_TASK_STATE_COMPLETED {
		p = 1
	}
	p = min(max(p, 0), 1)
	n := int(p * barWidth)
	detail := ""
	if d := taskDetail(t); d != "" && t.State == messages.TaskState_TASK_STATE_PENDING {
		detail = " " + d
	}
	fmt.Fprintf(a.opts.Stderr, "\r%s [%s%s] %3d%%%s\x1b[K", label, strings.Repeat("#", n), strings.Repeat(".", barWidth-n),
		int(p*100), detail)
}
