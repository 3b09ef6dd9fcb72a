package sim

import (
	"context"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// PrivatePath is the toolstack's private directory of a device,
// /xapi/<domid>/private/<class>/<devid> (xenbus.Device.PrivatePath).
func PrivatePath(k DeviceKey) string {
	return xenbus.Device{Class: string(k.Class), Frontend: k.Frontend, DevID: k.DevID}.PrivatePath()
}

// The keys of a VIF's private directory.
const (
	PrivateVIFUUID     = xenbus.PrivateVIFUUID
	PrivateNetworkUUID = xenbus.PrivateNetworkUUID
)

// WriteVIFPrivate writes a VIF's uuid and its network's uuid in its
// private directory, as xenopsd does before hotplug runs; empty values are
// left out.
func WriteVIFPrivate(ctx context.Context, tx *xenstore.Tx, k DeviceKey, vifUUID, networkUUID string) error {
	dir := PrivatePath(k)
	for key, v := range map[string]string{PrivateVIFUUID: vifUUID, PrivateNetworkUUID: networkUUID} {
		if v == "" {
			continue
		}
		if err := tx.Write(ctx, dir+"/"+key, []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

// addPort puts the VIF's interface on bridge in the host's switch, as the
// reference's vif script does with "ovs-vsctl -- --if-exists del-port P --
// add-port B P -- set interface P external-ids:...". The simulated host
// plays xcp-networkd too: a bridge the switch lacks is made, and the port
// added again.
func (h *Hotplug) addPort(ctx context.Context, k DeviceKey, bridge, name string) error {
	ids := h.vifExternalIDs(ctx, k)
	err := h.sw.AddPort(ctx, bridge, name, ids)
	if !errdefs.IsNotFound(err) {
		return err
	}
	if err := h.sw.AddBridge(ctx, bridge); err != nil {
		return err
	}
	return h.sw.AddPort(ctx, bridge, name, ids)
}

// vifExternalIDs gathers a VIF's external-ids as the reference's vif
// script does (hotplug.VIFExternalIDs).
func (h *Hotplug) vifExternalIDs(ctx context.Context, k DeviceKey) map[string]string {
	return hotplug.VIFExternalIDs(ctx, h.xs.Handle, hotplug.Device{Class: string(k.Class), Frontend: k.Frontend,
		DevID: k.DevID})
}
