package sim

import (
	"context"
	"path"

	"github.com/xenactor/xenactor/hostio/ovs"
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
// script does: xs-vm-uuid from /local/domain/<d>/vm (the uuid under that
// /vm/<uuid> path, or its last element), attached-mac from the backend's
// mac, xs-vif-uuid (and iface-id, XenServer's copy of it) and
// xs-network-uuid from the private directory. A key whose source is
// missing is left out.
func (h *Hotplug) vifExternalIDs(ctx context.Context, k DeviceKey) map[string]string {
	ids := make(map[string]string)
	if vm, ok := readString(ctx, h.xs.Handle, xenstore.DomainPath(k.Frontend)+"/vm"); ok && vm != "" {
		uuid, ok := readString(ctx, h.xs.Handle, vm+"/uuid")
		if !ok || uuid == "" {
			uuid = path.Base(vm)
		}
		ids[ovs.KeyVMUUID] = uuid
	}
	if mac, ok := readString(ctx, h.xs.Handle, k.BackendPath()+"/mac"); ok && mac != "" {
		ids[ovs.KeyAttachedMAC] = mac
	}
	priv := PrivatePath(k)
	if vif, ok := readString(ctx, h.xs.Handle, priv+"/"+PrivateVIFUUID); ok && vif != "" {
		ids[ovs.KeyVIFUUID] = vif
		ids[ovs.KeyIfaceID] = vif
	}
	if net, ok := readString(ctx, h.xs.Handle, priv+"/"+PrivateNetworkUUID); ok && net != "" {
		ids[ovs.KeyNetworkUUID] = net
	}
	return ids
}
