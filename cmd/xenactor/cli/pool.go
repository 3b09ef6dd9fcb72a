package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// poolCommand is "pool" and its subcommands.
func (a *app) poolCommand() *cobra.Command {
	cmd := group("pool", "Show the pool of hosts the daemon is a member of, and its VMs")
	hosts := &cobra.Command{
		Use:   "hosts",
		Short: "List the pool's hosts: address, up or down, memory, VMs",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			hs, err := c.PoolHosts(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSONList(a, hs)
			}
			t := newTable(a.opts.Stdout, "HOST", "ADDRESS", "STATE", "MEMORY", "FREE", "VMS", "RUNNING")
			for _, h := range hs {
				state := "up"
				if !h.GetUp() {
					state = "down"
				}
				t.row(h.GetName(), h.GetAddress(), state, memory(h.GetMemoryTotalKib()), memory(h.GetMemoryFreeKib()),
					strconv.FormatUint(uint64(h.GetVms()), 10), strconv.FormatUint(uint64(h.GetVmsRunning()), 10))
			}
			return t.flush()
		}),
	}
	vms := &cobra.Command{
		Use:   "vms",
		Short: "List the VMs of every host of the pool and where they run (Unknown: their host is down)",
		Args:  exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			list, err := c.PoolVMs(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSONList(a, list)
			}
			t := newTable(a.opts.Stdout, "HOST", "UUID", "NAME", "STATE", "DOMID", "VCPUS", "MEMORY")
			for _, pv := range list {
				v := pv.GetVm()
				s := v.GetSpec()
				domid := ""
				switch v.GetPowerState() {
				case messages.PowerState_POWER_STATE_HALTED, messages.PowerState_POWER_STATE_SUSPENDED,
					messages.PowerState_POWER_STATE_UNKNOWN:
				default:
					domid = strconv.FormatUint(uint64(v.GetDomid()), 10)
				}
				host := pv.GetHost()
				if !pv.GetHostUp() {
					host += " (down)"
				}
				t.row(host, s.GetUuid(), s.GetName(), powerState(v.GetPowerState()), domid,
					strconv.FormatUint(uint64(s.GetVcpus()), 10), memory(s.GetMemoryKib()))
			}
			return t.flush()
		}),
	}
	var batch int
	evacuate := &cobra.Command{
		Use:   "evacuate HOST",
		Short: "Move every VM of a host to the other hosts of the pool, in parallel batches",
		Long: "Move every VM of HOST to the other hosts that are up, --batch at a time: a Halted VM's record moves,\n" +
			"a VM with a domain is migrated, a Suspended VM stays. Each VM goes to the host with the most free\n" +
			"memory left. A VM that could not be moved stays on HOST and is listed with its error; the command\n" +
			"then fails with that error's exit code.",
		Args: exactArgs(1),
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			evs, err := c.PoolEvacuate(ctx, args[0], batch)
			if err != nil {
				return err
			}
			var failed []*messages.EvacuatedVM
			for _, ev := range evs {
				if ev.GetError() != nil {
					failed = append(failed, ev)
				}
			}
			if a.json {
				if err := printJSONList(a, evs); err != nil {
					return err
				}
			} else {
				t := newTable(a.opts.Stdout, "UUID", "NAME", "FROM", "TO", "HOW", "ERROR")
				for _, ev := range evs {
					t.row(ev.GetUuid(), ev.GetName(), ev.GetFrom(), ev.GetTo(), ev.GetHow(), errorText(ev.GetError()))
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			if len(failed) > 0 {
				return &client.Error{Kind: failed[0].GetError().GetKind(),
					Message: fmt.Sprintf("%d of %d VMs stayed on %s", len(failed), len(evs), args[0])}
			}
			return nil
		}),
	}
	evacuate.Flags().IntVar(&batch, "batch", 0, "how many VMs to move at once (0: the daemon's default, 8)")
	cmd.AddCommand(hosts, vms, evacuate)
	return cmd
}

// placeFlags are --on and --least-loaded: where an operation runs in the
// pool.
type placeFlags struct {
	on          string
	leastLoaded bool
}

// add adds the flags to cmd; what says what they place.
func (f *placeFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.on, "on", "", what+" on this host of the pool")
	cmd.Flags().BoolVar(&f.leastLoaded, "least-loaded", false, what+" on the pool's host with the most free memory")
}

// set reports whether a placement was asked for.
func (f *placeFlags) set() bool { return f.on != "" || f.leastLoaded }

// client returns c routed as the flags ask.
func (f *placeFlags) client(c *client.Client) (*client.Client, error) {
	switch {
	case f.on != "" && f.leastLoaded:
		return nil, usagef("--on and --least-loaded exclude each other")
	case f.on != "":
		return c.On(f.on), nil
	case f.leastLoaded:
		return c.LeastLoaded(), nil
	}
	return c, nil
}

// vmStartCommand is "vm start": on the VM's host, or, with --on or
// --least-loaded, on a host of the pool. A Halted VM of another host is
// moved there first (its record: a Halted VM has no domain).
func (a *app) vmStartCommand() *cobra.Command {
	var paused bool
	pf := &placeFlags{}
	wf := &waitFlags{}
	cmd := &cobra.Command{
		Use:               "start VM",
		Short:             "Start a Halted VM, on its host or on a host of the pool (--on, --least-loaded)",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeVMs,
	}
	cmd.RunE = a.run(func(ctx context.Context, c *client.Client, args []string) error {
		if !pf.set() {
			uuid, err := resolveVM(ctx, c, args[0])
			if err != nil {
				return err
			}
			return a.operate(ctx, c, wf, "start "+shortID(uuid), func(ctx context.Context) (*client.Task, error) {
				return c.StartVM(ctx, uuid, paused)
			})
		}
		if _, err := pf.client(c); err != nil {
			return err
		}
		pv, err := findPoolVM(ctx, c, args[0])
		if err != nil {
			return err
		}
		uuid := pv.GetVm().GetSpec().GetUuid()
		target := pf.on
		if pf.leastLoaded {
			if target, err = leastLoaded(ctx, c); err != nil {
				return err
			}
		}
		if target != pv.GetHost() {
			if err := moveHalted(ctx, c, pv, target); err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.opts.Stderr, "moved %s from host %s to host %s\n", shortID(uuid), pv.GetHost(), target)
			}
		}
		tc := c.On(target)
		return a.operate(ctx, tc, wf, "start "+shortID(uuid)+" on "+target,
			func(ctx context.Context) (*client.Task, error) {
				return tc.StartVM(ctx, uuid, paused)
			})
	})
	cmd.Flags().BoolVar(&paused, "paused", false, "leave the VM paused")
	pf.add(cmd, "start the VM")
	addWaitFlags(cmd, wf, true)
	return cmd
}

// findPoolVM finds the VM arg names (uuid or name) among the pool's VMs.
func findPoolVM(ctx context.Context, c *client.Client, arg string) (*messages.PoolVM, error) {
	vms, err := c.PoolVMs(ctx)
	if err != nil {
		return nil, err
	}
	var found []*messages.PoolVM
	for _, pv := range vms {
		s := pv.GetVm().GetSpec()
		if strings.EqualFold(s.GetUuid(), arg) || s.GetName() == arg {
			found = append(found, pv)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no VM of the pool is %q", errdefs.ErrNotFound, arg)
	case 1:
		return found[0], nil
	}
	return nil, usagef("%d VMs of the pool are named %q, give a uuid", len(found), arg)
}

// leastLoaded returns the pool's host that is up with the most free memory.
func leastLoaded(ctx context.Context, c *client.Client) (string, error) {
	hosts, err := c.PoolHosts(ctx)
	if err != nil {
		return "", err
	}
	best := ""
	var free uint64
	for _, h := range hosts {
		if h.GetUp() && (best == "" || h.GetMemoryFreeKib() > free) {
			best, free = h.GetName(), h.GetMemoryFreeKib()
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no host of the pool is up", errdefs.ErrUnavailable)
	}
	return best, nil
}

// moveHalted moves the record of a Halted VM to host target: created there
// with its spec, then removed from its host. A VM with a domain would need a
// migration.
func moveHalted(ctx context.Context, c *client.Client, pv *messages.PoolVM, target string) error {
	v := pv.GetVm()
	uuid := v.GetSpec().GetUuid()
	if !pv.GetHostUp() {
		return fmt.Errorf("%w: VM %s is on host %s, which is down", errdefs.ErrUnavailable, uuid, pv.GetHost())
	}
	if v.GetPowerState() != messages.PowerState_POWER_STATE_HALTED {
		return fmt.Errorf("%w: VM %s is %s on host %s: only a Halted VM moves to another host to start",
			errdefs.ErrBusy, uuid, powerState(v.GetPowerState()), pv.GetHost())
	}
	if _, err := c.On(target).PlaceVM(ctx, v.GetSpec()); err != nil {
		return err
	}
	if err := c.On(pv.GetHost()).RemoveVM(ctx, uuid); err != nil {
		// Keep the VM where it was.
		_ = c.On(target).RemoveVM(ctx, uuid)
		return err
	}
	return nil
}
