package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
)

// completionTimeout bounds the calls of dynamic completion: a daemon that
// does not answer at once completes nothing.
const completionTimeout = 2 * time.Second

// completeFirst completes a command's first argument with what list
// returns from the daemon; nothing when the daemon cannot be reached
// within completionTimeout, and nothing after the first argument.
func (a *app) completeFirst(list func(ctx context.Context, c *client.Client) ([]string, error)) func(
	*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		c, err := a.connect(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer func() { _ = c.Close() }()
		out, err := list(ctx, c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeVMs completes the first argument with the VMs' uuids and names.
func (a *app) completeVMs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeFirst(func(ctx context.Context, c *client.Client) ([]string, error) {
		vms, err := c.ListVMs(ctx)
		var out []string
		for _, v := range vms {
			s := v.GetSpec()
			out = append(out, s.GetUuid()+"\t"+s.GetName())
			if s.GetName() != "" {
				out = append(out, s.GetName()+"\t"+s.GetUuid())
			}
		}
		return out, err
	})(cmd, args, toComplete)
}

// completeTasks completes the first argument with the tasks' ids.
func (a *app) completeTasks(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeFirst(func(ctx context.Context, c *client.Client) ([]string, error) {
		tasks, err := c.Tasks(ctx, "")
		var out []string
		for _, t := range tasks {
			out = append(out, t.Id+"\t"+t.Kind+" "+t.Subject)
		}
		return out, err
	})(cmd, args, toComplete)
}

// completeDaemons completes the first argument with the host daemons'
// names, the failed ones first.
func (a *app) completeDaemons(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeFirst(func(ctx context.Context, c *client.Client) ([]string, error) {
		ds, err := c.Daemons(ctx)
		var failed, others []string
		for _, d := range ds {
			if d.GetState() == "failed" {
				failed = append(failed, d.GetName()+"\t"+d.GetState())
			} else {
				others = append(others, d.GetName()+"\t"+d.GetState())
			}
		}
		return append(failed, others...), err
	})(cmd, args, toComplete)
}
