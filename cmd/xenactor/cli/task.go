package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
)

// taskCommand is "task" and its subcommands.
func (a *app) taskCommand() *cobra.Command {
	cmd := group("task", "List, wait for, cancel and forget tasks")
	var subject string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tasks, oldest first",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			if subject != "" {
				uuid, err := resolveVM(ctx, c, subject)
				if err != nil {
					return err
				}
				subject = uuid
			}
			tasks, err := c.Tasks(ctx, subject)
			if err != nil {
				return err
			}
			if a.json {
				return printJSONList(a, tasks)
			}
			t := newTable(a.opts.Stdout, "ID", "KIND", "SUBJECT", "STATE", "PROGRESS", "CREATED", "ERROR", "DETAIL")
			for _, k := range tasks {
				t.row(k.Id, k.Kind, k.Subject, taskState(k), fmt.Sprintf("%d%%", int(k.Progress*100)),
					unixNano(k.CreatedUnixNano), errorText(k.Error), taskDetail(k))
			}
			return t.flush()
		}),
	}
	list.Flags().StringVar(&subject, "subject", "", "only the tasks of this VM (uuid or name)")
	_ = list.RegisterFlagCompletionFunc("subject", a.completeVMs)

	wf := &waitFlags{}
	wait := &cobra.Command{
		Use:               "wait ID",
		Short:             "Wait for a task to finish; exit code 4 when it failed",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeTasks,
	}
	wait.RunE = a.run(func(ctx context.Context, c *client.Client, args []string) error {
		t, err := a.wait(ctx, c, args[0], "task "+args[0], wf)
		if err != nil {
			return err
		}
		if a.json {
			return a.printJSON(t)
		}
		return nil
	})
	addWaitFlags(wait, wf, false)

	cancel := &cobra.Command{
		Use:               "cancel ID",
		Short:             "Ask a pending task's operation to stop",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeTasks,
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			t, err := c.CancelTask(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(t)
			}
			_, err = fmt.Fprintf(a.opts.Stdout, "%s: %s\n", t.Id, taskState(t))
			return err
		}),
	}

	destroy := &cobra.Command{
		Use:               "destroy ID",
		Short:             "Forget a finished task",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeTasks,
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			return c.DestroyTask(ctx, args[0])
		}),
	}
	cmd.AddCommand(list, wait, cancel, destroy)
	return cmd
}
