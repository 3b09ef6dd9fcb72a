package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// vmCommand is "vm" and its subcommands.
func (a *app) vmCommand() *cobra.Command {
	cmd := group("vm", "Create, run, watch and forget VMs")
	var hard, resumePaused, rebootHard bool
	var path, to, toHost, destConfig string
	live, compress := true, false
	cmd.AddCommand(
		a.vmListCommand(),
		a.vmCreateCommand(),
		a.vmStatCommand(),
		a.vmRemoveCommand(),
		a.vmStartCommand(),
		a.vmOp("shutdown", "Shut a VM down", "shutdown",
			func(c *cobra.Command) { c.Flags().BoolVar(&hard, "hard", false, "destroy the domain at once") },
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.ShutdownVM(ctx, uuid, hard)
			}),
		a.vmOp("reboot", "Reboot a VM", "reboot",
			func(c *cobra.Command) {
				c.Flags().BoolVar(&rebootHard, "hard", false, "destroy and rebuild the domain at once")
			},
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.RebootVM(ctx, uuid, rebootHard)
			}),
		a.vmOp("pause", "Pause a Running VM", "pause", nil,
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.PauseVM(ctx, uuid)
			}),
		a.vmOp("unpause", "Unpause a Paused VM", "unpause", nil,
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.UnpauseVM(ctx, uuid)
			}),
		a.vmOp("suspend", "Suspend a VM to an image file", "suspend",
			func(c *cobra.Command) {
				c.Flags().StringVar(&path, "path", "", "the image file; by default one in the daemon's state directory")
			},
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.SuspendVM(ctx, uuid, path)
			}),
		a.vmOp("resume", "Resume a Suspended VM", "resume",
			func(c *cobra.Command) { c.Flags().BoolVar(&resumePaused, "paused", false, "leave the VM paused") },
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.ResumeVM(ctx, uuid, resumePaused)
			}),
		a.vmOpIn("migrate", "Move a Running VM to another daemon", "migrate",
			func(c *cobra.Command) {
				c.Flags().StringVar(&toHost, "to-host", "",
					"the destination host of the pool, by name (the VM is looked for on every host, unless --host names its host)")
				c.Flags().StringVar(&to, "to", "", "the destination daemon's migration listener, host:port (its -migrate-addr)")
				c.Flags().StringVar(&destConfig, "dest-config", "",
					"the destination's client.json, as a path the source daemon can read (its CA and token)")
				c.Flags().BoolVar(&live, "live", true, "pre-copy the memory while the guest runs")
				c.Flags().BoolVar(&compress, "compress", false, "compress the memory stream")
			},
			func() bool { return toHost != "" },
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				if toHost != "" {
					if to != "" || destConfig != "" {
						return nil, usagef("migrate takes --to-host NAME, or --to host:port and --dest-config, not both")
					}
					return c.MigrateVMToHost(ctx, uuid, toHost, live, compress)
				}
				if to == "" || destConfig == "" {
					return nil, usagef("migrate needs --to-host NAME (in a pool), or --to host:port and --dest-config <client.json>")
				}
				return c.MigrateVM(ctx, uuid, to, destConfig, live, compress)
			}),
		a.vmOp("destroy", "Destroy a VM's domain at once (it becomes Halted)", "destroy", nil,
			func(ctx context.Context, c *client.Client, uuid string, _ []string) (*client.Task, error) {
				return c.DestroyVM(ctx, uuid)
			}),
		a.vmOp("set-memory SIZE", "Set a VM's memory target (e.g. 512M, 2G)", "set-memory", nil,
			func(ctx context.Context, c *client.Client, uuid string, args []string) (*client.Task, error) {
				kib, err := parseMemory(args[0])
				if err != nil {
					return nil, err
				}
				return c.SetMemoryTarget(ctx, uuid, kib)
			}),
		a.vmOp("set-vcpus N", "Set a VM's number of online vCPUs", "set-vcpus", nil,
			func(ctx context.Context, c *client.Client, uuid string, args []string) (*client.Task, error) {
				n, err := strconv.ParseInt(args[0], 10, 32)
				if err != nil || n < 1 {
					return nil, usagef("vcpus %q: want a number >= 1", args[0])
				}
				return c.SetVCPUs(ctx, uuid, int32(n))
			}),
	)
	return cmd
}

// vmOp is a VM operation command "<name> VM [args]": flags adds its own
// flags; start starts the operation on the resolved uuid with the other
// arguments.
func (a *app) vmOp(use, short, label string, flags func(*cobra.Command),
	start func(ctx context.Context, c *client.Client, uuid string, args []string) (*client.Task, error)) *cobra.Command {
	return a.vmOpIn(use, short, label, flags, nil, start)
}

// vmOpIn is vmOp whose VM is looked for in the whole pool when inPool (if
// not nil) says so and no --host names its host: the operation then runs
// on the host that has it.
func (a *app) vmOpIn(use, short, label string, flags func(*cobra.Command), inPool func() bool,
	start func(ctx context.Context, c *client.Client, uuid string, args []string) (*client.Task, error)) *cobra.Command {
	name, rest, _ := cutSpace(use)
	extra := 0
	if rest != "" {
		extra = 1
	}
	wf := &waitFlags{}
	cmd := &cobra.Command{
		Use:               name + " VM" + prefixSpace(rest),
		Short:             short,
		Args:              exactArgs(1 + extra),
		ValidArgsFunction: a.completeVMs,
	}
	cmd.RunE = a.run(func(ctx context.Context, c *client.Client, args []string) error {
		if inPool != nil && inPool() && a.host == "" {
			host, err := locateInPool(ctx, c, args[0])
			if err != nil {
				return err
			}
			if host != "" {
				c = c.On(host)
			}
		}
		uuid, err := resolveVM(ctx, c, args[0])
		if err != nil {
			return err
		}
		return a.operate(ctx, c, wf, label+" "+shortID(uuid), func(ctx context.Context) (*client.Task, error) {
			return start(ctx, c, uuid, args[1:])
		})
	})
	if flags != nil {
		flags(cmd)
	}
	addWaitFlags(cmd, wf, true)
	return cmd
}

// vmListCommand is "vm list".
func (a *app) vmListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the VMs",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			vms, err := c.ListVMs(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSONList(a, vms)
			}
			t := newTable(a.opts.Stdout, "UUID", "NAME", "STATE", "DOMID", "VCPUS", "MEMORY")
			for _, v := range vms {
				s := v.GetSpec()
				domid := ""
				if v.PowerState != messages.PowerState_POWER_STATE_HALTED &&
					v.PowerState != messages.PowerState_POWER_STATE_SUSPENDED {
					domid = strconv.FormatUint(uint64(v.Domid), 10)
				}
				t.row(s.GetUuid(), s.GetName(), powerState(v.PowerState), domid, strconv.FormatUint(uint64(s.GetVcpus()), 10),
					memory(s.GetMemoryKib()))
			}
			return t.flush()
		}),
	}
}

// vmRemoveCommand is "vm remove".
func (a *app) vmRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "remove VM",
		Short:             "Forget a Halted VM",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeVMs,
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			uuid, err := resolveVM(ctx, c, args[0])
			if err != nil {
				return err
			}
			return c.RemoveVM(ctx, uuid)
		}),
	}
}

// cutSpace splits s at its first space.
func cutSpace(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// prefixSpace returns " "+s, or "" for "".
func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// shortID is the first block of a uuid, for progress labels.
func shortID(uuid string) string {
	if len(uuid) > 8 {
		return uuid[:8]
	}
	return uuid
}
