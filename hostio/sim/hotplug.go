package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Hotplug is the simulated host's hotplug step, which XenServer's
// toolstack runs itself: for a VBD it resolves params and publishes
// physical-device; for a VIF it waits for netback's interface and attaches
// it to the bridge, as a port of the host's Open vSwitch tagged with the
// VM's, the VIF's and the network's ids (hotplug_ovs.go); then it writes hotplug-status=connected, or
// hotplug-error when it fails.
type Hotplug struct {
	xs      *xenstore.Client
	netdevs *NetDevs
	sw      ovs.Switch
	faults  *Faults
}

// Add runs "add" for the device whose backend is k.
func (h *Hotplug) Add(ctx context.Context, k DeviceKey) error {
	be := k.BackendPath()
	if msg, fail := h.faults.hotplugFailure(); fail {
		if err := h.xs.Write(ctx, be+"/hotplug-error", []byte(msg)); err != nil {
			return err
		}
		return fmt.Errorf("sim: hotplug add %s: %s", be, msg)
	}
	switch k.Class {
	case VBD:
		params, ok := readString(ctx, h.xs.Handle, be+"/params")
		if !ok || strings.TrimSpace(params) == "" {
			msg := "no params for the block device"
			_ = h.xs.Write(ctx, be+"/hotplug-error", []byte(msg))
			return fmt.Errorf("sim: hotplug add %s: %s", be, msg)
		}
		// A loop device per disk: major 7, minor from the device id.
		if err := h.xs.Write(ctx, be+"/physical-device", []byte(fmt.Sprintf("7:%x", k.DevID%256))); err != nil {
			return err
		}
	case VIF:
		// Wait for netback to create the interface (it does so in InitWait).
		name := VifName(k.Frontend, k.DevID)
		select {
		case <-h.netdevs.Appeared(name):
		case <-ctx.Done():
			_ = h.xs.Write(context.Background(), be+"/hotplug-error", []byte("interface "+name+" did not appear"))
			return fmt.Errorf("sim: hotplug add %s: interface %s did not appear: %w", be, name, ctx.Err())
		}
		bridge, _ := readString(ctx, h.xs.Handle, be+"/bridge")
		if bridge == "" {
			bridge = "xenbr0"
		}
		if err := h.netdevs.AttachToBridge(name, bridge); err != nil {
			_ = h.xs.Write(ctx, be+"/hotplug-error", []byte(err.Error()))
			return err
		}
		if err := h.addPort(ctx, k, bridge, name); err != nil {
			h.netdevs.detach(name)
			_ = h.xs.Write(ctx, be+"/hotplug-error", []byte(err.Error()))
			return fmt.Errorf("sim: hotplug add %s: %w", be, err)
		}
	}
	return h.xs.Write(ctx, be+"/hotplug-status", []byte("connected"))
}

// Remove runs "remove": it detaches a VIF from its bridge, deleting its
// port from the switch (a port already gone is fine), and clears the
// hotplug status.
func (h *Hotplug) Remove(ctx context.Context, k DeviceKey) error {
	var portErr error
	if k.Class == VIF {
		name := VifName(k.Frontend, k.DevID)
		h.netdevs.detach(name)
		if err := h.sw.DelPort(ctx, name); err != nil && !errdefs.IsNotFound(err) {
			portErr = fmt.Errorf("sim: hotplug remove %s: %w", k.BackendPath(), err)
		}
	}
	err := h.xs.Rm(ctx, k.BackendPath()+"/hotplug-status")
	if ignorable(err) {
		return portErr
	}
	return errors.Join(err, portErr)
}
