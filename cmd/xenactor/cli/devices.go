package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// deviceKind is a class of devices the CLI plugs: "vbd" or "vif".
type deviceKind string

// The device classes.
const (
	vbdKind deviceKind = "vbd"
	vifKind deviceKind = "vif"
)

// deviceRow is one device of "vbd list" or "vif list", for --json.
type deviceRow struct {
	Devid         int32  `json:"devid"`
	Params        string `json:"params,omitempty"`
	ReadOnly      bool   `json:"read_only,omitempty"`
	VDI           string `json:"vdi,omitempty"`
	MAC           string `json:"mac,omitempty"`
	Bridge        string `json:"bridge,omitempty"`
	BackendState  string `json:"backend_state,omitempty"`
	FrontendState string `json:"frontend_state,omitempty"`
}

// deviceCommand is "vbd" or "vif" and their subcommands.
func (a *app) deviceCommand(kind deviceKind) *cobra.Command {
	k := string(kind)
	cmd := group(k, fmt.Sprintf("Plug, unplug and list a VM's %ss", k))
	syntax := "devid=51712,params=/dev/loop1[,ro][,vdi=sr/key]"
	if kind == vifKind {
		syntax = "devid=1,mac=00:16:3e:00:00:02,bridge=xenbr0"
	}
	plugFlags, unplugFlags := &waitFlags{}, &waitFlags{}
	plug := &cobra.Command{
		Use:               "plug VM " + syntax,
		Short:             fmt.Sprintf("Plug a %s into a VM", k),
		Args:              exactArgs(2),
		ValidArgsFunction: a.completeVMs,
	}
	plug.RunE = a.run(func(ctx context.Context, c *client.Client, args []string) error {
		uuid, err := resolveVM(ctx, c, args[0])
		if err != nil {
			return err
		}
		var start func(context.Context) (*client.Task, error)
		if kind == vbdKind {
			vbd, err := parseVBD(args[1])
			if err != nil {
				return err
			}
			start = func(ctx context.Context) (*client.Task, error) { return c.PlugVBD(ctx, uuid, vbd) }
		} else {
			vif, err := parseVIF(args[1])
			if err != nil {
				return err
			}
			start = func(ctx context.Context) (*client.Task, error) { return c.PlugVIF(ctx, uuid, vif) }
		}
		return a.operate(ctx, c, plugFlags, "plug "+k, start)
	})
	addWaitFlags(plug, plugFlags, true)

	var force bool
	unplug := &cobra.Command{
		Use:               "unplug VM DEVID",
		Short:             fmt.Sprintf("Unplug a %s from a VM", k),
		Args:              exactArgs(2),
		ValidArgsFunction: a.completeVMs,
	}
	unplug.RunE = a.run(func(ctx context.Context, c *client.Client, args []string) error {
		uuid, err := resolveVM(ctx, c, args[0])
		if err != nil {
			return err
		}
		devid, err := parseDevid(args[1])
		if err != nil {
			return err
		}
		return a.operate(ctx, c, unplugFlags, "unplug "+k, func(ctx context.Context) (*client.Task, error) {
			if kind == vbdKind {
				return c.UnplugVBD(ctx, uuid, devid, force)
			}
			return c.UnplugVIF(ctx, uuid, devid, force)
		})
	})
	unplug.Flags().BoolVar(&force, "force", false, "do not wait for the guest to release the device")
	addWaitFlags(unplug, unplugFlags, true)

	list := &cobra.Command{
		Use:               "list VM",
		Short:             fmt.Sprintf("List a VM's %ss with their XenBus states", k),
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
			return a.printDevices(kind, deviceRows(kind, st))
		}),
	}
	cmd.AddCommand(plug, unplug, list)
	return cmd
}

// deviceRows joins the devices of class kind in a VM's spec with their
// states in its status, in the spec's order; devices only in the status
// (being plugged or unplugged) come last.
func deviceRows(kind deviceKind, st *messages.VMStatus) []deviceRow {
	var rows []deviceRow
	index := map[int32]int{}
	if kind == vbdKind {
		for _, v := range st.GetSpec().GetVbds() {
			index[v.Devid] = len(rows)
			rows = append(rows, deviceRow{Devid: v.Devid, Params: v.Params, ReadOnly: v.ReadOnly, VDI: v.Vdi})
		}
	} else {
		for _, v := range st.GetSpec().GetVifs() {
			index[v.Devid] = len(rows)
			rows = append(rows, deviceRow{Devid: v.Devid, MAC: v.Mac, Bridge: v.Bridge})
		}
	}
	for _, d := range st.GetDevices() {
		if d.Class != string(kind) {
			continue
		}
		i, ok := index[d.Devid]
		if !ok {
			i = len(rows)
			index[d.Devid] = i
			rows = append(rows, deviceRow{Devid: d.Devid})
		}
		rows[i].BackendState, rows[i].FrontendState = d.BackendState, d.FrontendState
	}
	return rows
}

// printDevices prints the device rows as a table or JSON.
func (a *app) printDevices(kind deviceKind, rows []deviceRow) error {
	if a.json {
		if rows == nil {
			rows = []deviceRow{}
		}
		return a.printPlainJSON(rows)
	}
	var t *table
	if kind == vbdKind {
		t = newTable(a.opts.Stdout, "DEVID", "PARAMS", "MODE", "VDI", "BACKEND", "FRONTEND")
	} else {
		t = newTable(a.opts.Stdout, "DEVID", "MAC", "BRIDGE", "BACKEND", "FRONTEND")
	}
	for _, r := range rows {
		if kind == vbdKind {
			mode := "rw"
			if r.ReadOnly {
				mode = "ro"
			}
			t.row(strconv.Itoa(int(r.Devid)), r.Params, mode, r.VDI, r.BackendState, r.FrontendState)
		} else {
			t.row(strconv.Itoa(int(r.Devid)), r.MAC, r.Bridge, r.BackendState, r.FrontendState)
		}
	}
	return t.flush()
}
