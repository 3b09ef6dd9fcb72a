package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds the calls of dynamic completion: a daemon that
// does not answer at once completes nothing.
const completionTimeout = 2 * time.Second

// completeVMs completes the first argument with the VMs' uuids and names.
func (a *app) completeVMs(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	c, err := a.connect(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer func() { _ = c.Close() }()
	vms, err := c.ListVMs(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, v := range vms {
		s := v.GetSpec()
		out = append(out, s.GetUuid()+"\t"+s.GetName())
		if s.GetName() != "" {
			out = append(out, s.GetName()+"\t"+s.GetUuid())
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeTasks completes the first argument with the tasks' ids.
func (a *app) completeTasks(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	c, err := a.connect(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer func() { _ = c.Close() }()
	tasks, err := c.Tasks(ctx, "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, t := range tasks {
		out = append(out, t.Id+"\t"+t.Kind+" "+t.Subject)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeDaemons completes the first argument with the host daemons'
// names, the failed ones first.
func (a *app) completeDaemons(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	c, err := a.connect(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer func() { _ = c.Close() }()
	ds, err := c.Daemons(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var failed, others []string
	for _, d := range ds {
		if d.GetState() == "failed" {
			failed = append(failed, d.GetName()+"\t"+d.GetState())
		} else {
			others = append(others, d.GetName()+"\t"+d.GetState())
		}
	}
	return append(failed, others...), cobra.ShellCompDirectiveNoFileComp
}

// completionContext is the context of a completion's calls.
func (a *app) completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}
