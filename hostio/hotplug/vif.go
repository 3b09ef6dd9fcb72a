package hotplug

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// DefaultBridge is the bridge a VIF whose backend names none is attached
// to.
const DefaultBridge = "xenbr0"

// VIFName is the name of netback's interface of a VIF, vif<domid>.<devid>.
func VIFName(d Device) string { return fmt.Sprintf("vif%d.%d", d.Frontend, d.DevID) }

// VIFExternalIDs gathers the external-ids of a VIF's switch port as the
// reference's vif script does: xs-vm-uuid from /local/domain/<d>/vm (the
// uuid under that /vm/<uuid> path, or its last element), attached-mac from
// the backend's mac, xs-vif-uuid (and iface-id, XenServer's copy of it) and
// xs-network-uuid from the device's private directory. A key whose source
// is missing is left out.
func VIFExternalIDs(ctx context.Context, h xenstore.Handle, d Device) map[string]string {
	ids := make(map[string]string)
	if vm := readString(ctx, h, xenstore.DomainPath(d.Frontend)+"/vm"); vm != "" {
		uuid := readString(ctx, h, vm+"/uuid")
		if uuid == "" {
			uuid = path.Base(vm)
		}
		ids[ovs.KeyVMUUID] = uuid
	}
	if mac := readString(ctx, h, d.BackendPath()+"/mac"); mac != "" {
		ids[ovs.KeyAttachedMAC] = mac
	}
	priv := d.PrivatePath()
	if vif := readString(ctx, h, priv+"/"+xenbus.PrivateVIFUUID); vif != "" {
		ids[ovs.KeyVIFUUID] = vif
		ids[ovs.KeyIfaceID] = vif
	}
	if net := readString(ctx, h, priv+"/"+xenbus.PrivateNetworkUUID); net != "" {
		ids[ovs.KeyNetworkUUID] = net
	}
	return ids
}

// readString reads a node as a string without a trailing NUL; a missing
// node is "".
func readString(ctx context.Context, h xenstore.Handle, p string) string {
	v, err := h.Read(ctx, p)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(v), "\x00")
}
