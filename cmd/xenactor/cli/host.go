package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// hostCommand is "host" and its subcommands.
func (a *app) hostCommand() *cobra.Command {
	cmd := group("host", "Show the host and its daemons")
	info := &cobra.Command{
		Use:   "info",
		Short: "Show the host's identity, memory and counts",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			h, err := c.HostInfo(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(h)
			}
			t := newTable(a.opts.Stdout, "Hostname:", h.Hostname)
			t.row("Version:", h.Version)
			t.row("Hypervisor:", h.Hypervisor)
			t.row("Memory:", fmt.Sprintf("%s total, %s free", memory(h.MemoryTotalKib), memory(h.MemoryFreeKib)))
			t.row("VMs:", fmt.Sprintf("%d (%d running)", h.Vms, h.VmsRunning))
			t.row("Pending tasks:", fmt.Sprint(h.TasksPending))
			t.row("Daemons:", fmt.Sprint(len(h.Daemons)))
			t.row("Started:", unixNano(h.StartedUnixNano))
			return t.flush()
		}),
	}
	daemons := &cobra.Command{
		Use:   "daemons",
		Short: "List the host's daemons (xenstored, the switch, ...) and their health",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			ds, err := c.Daemons(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSONList(a, ds)
			}
			return writeDaemons(a, ds)
		}),
	}
	reset := &cobra.Command{
		Use:               "daemon-reset NAME",
		Short:             "Start a host daemon that was given up on (failed) again, its failures forgotten",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeDaemons,
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			return c.ResetDaemon(ctx, args[0])
		}),
	}
	cmd.AddCommand(info, daemons, reset)
	return cmd
}

// writeDaemons writes the daemons' table.
func writeDaemons(a *app, ds []*messages.DaemonStatus) error {
	t := newTable(a.opts.Stdout, "NAME", "STATE", "PID", "ADOPTED", "RESTARTS", "LAST ERROR")
	for _, d := range ds {
		pid, adopted := "", "no"
		if d.Pid > 0 {
			pid = fmt.Sprint(d.Pid)
		}
		if d.Adopted {
			adopted = "yes"
		}
		t.row(d.Name, d.State, pid, adopted, fmt.Sprint(d.Restarts), d.LastError)
	}
	return t.flush()
}
