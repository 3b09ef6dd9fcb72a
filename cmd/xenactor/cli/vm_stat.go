package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// vmStatCommand is "vm stat".
func (a *app) vmStatCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "stat VM",
		Short:             "Show a VM's state, devices, guest metrics and errors",
		Args:              exactArgs(1),
		ValidArgsFunction: a.completeVMs,
		RunE: a.run(func(ctx context.Context, c *client.Client, args []string) error {
			uuid, err := resolveVM(ctx, c, args[0])
			if err != nil {
				return err
			}
			st, err := c.StatVM(ctx, uuid)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(st)
			}
			return writeStat(a.opts.Stdout, st)
		}),
	}
}

// writeStat writes a VM's status for people.
func writeStat(w io.Writer, st *messages.VMStatus) error {
	spec := st.GetSpec()
	kv := newTable(w, "UUID:", st.Uuid)
	kv.row("Name:", spec.GetName())
	kv.row("State:", powerState(st.PowerState))
	if st.PowerState != messages.PowerState_POWER_STATE_HALTED &&
		st.PowerState != messages.PowerState_POWER_STATE_SUSPENDED {
		kv.row("Domid:", fmt.Sprint(st.Domid))
	}
	if spec != nil {
		kv.row("Type:", domainType(spec.Type))
		kv.row("VCPUs:", fmt.Sprint(spec.Vcpus))
		kv.row("Memory:", memory(spec.MemoryKib))
	}
	if st.SuspendImage != "" {
		kv.row("Suspend image:", st.SuspendImage)
	}
	if st.CrashLoop {
		kv.row("Crash loop:", "yes, the VM was left Halted")
	}
	if st.LastError != nil {
		kv.row("Last error:", errorText(st.LastError))
	}
	if st.Error != nil {
		kv.row("Status error:", errorText(st.Error))
	}
	for _, f := range st.DaemonFaults {
		kv.row("Daemon fault:", f.Name+": "+f.Error)
	}
	if err := kv.flush(); err != nil {
		return err
	}
	if len(st.Devices) > 0 {
		fmt.Fprintln(w, "\nDevices:")
		t := newTable(w, "CLASS", "DEVID", "BACKEND", "FRONTEND")
		for _, d := range st.Devices {
			t.row(d.Class, fmt.Sprint(d.Devid), d.BackendState, d.FrontendState)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if g := st.Guest; g != nil {
		fmt.Fprintln(w, "\nGuest:")
		t := newTable(w, "  OS:", strings.TrimSpace(g.OsName+" "+g.OsUname))
		if g.PvDriversInstalled {
			t.row("  PV drivers:", g.PvDriversVersion)
		}
		if len(g.Features) > 0 {
			t.row("  Features:", strings.Join(g.Features, ", "))
		}
		if g.MemoryTotalKib > 0 {
			t.row("  Memory:", fmt.Sprintf("%s total, %s free, %s target", memory(g.MemoryTotalKib),
				memory(g.MemoryFreeKib), memory(g.MemoryTargetKib)))
		}
		devids := make([]int32, 0, len(g.Networks))
		for id := range g.Networks {
			devids = append(devids, id)
		}
		slices.Sort(devids)
		for _, id := range devids {
			n := g.Networks[id]
			t.row(fmt.Sprintf("  Network %d:", id), strings.Join(append(slices.Clone(n.Ipv4), n.Ipv6...), ", "))
		}
		if g.UpdatedUnixNano != 0 {
			t.row("  Updated:", unixNano(g.UpdatedUnixNano))
		}
		return t.flush()
	}
	return nil
}
