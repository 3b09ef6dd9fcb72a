package xenbus

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// The PV device classes.
const (
	ClassVBD = "vbd"
	ClassVIF = "vif"
)

// Device names one PV device.
type Device struct {
	Class    string // ClassVBD or ClassVIF
	Frontend uint32 // the frontend (guest) domain
	DevID    int
}

// BackendPath is /local/domain/0/backend/<class>/<frontend>/<devid>.
func (d Device) BackendPath() string {
	return "/local/domain/0/backend/" + d.Class + "/" + strconv.FormatUint(uint64(d.Frontend), 10) +
		"/" + strconv.Itoa(d.DevID)
}

// FrontendPath is /local/domain/<frontend>/device/<class>/<devid>.
func (d Device) FrontendPath() string {
	return xenstore.DomainPath(d.Frontend) + "/device/" + d.Class + "/" + strconv.Itoa(d.DevID)
}

// PrivateRoot is /xapi/<domid>, the toolstack's private tree of a domain,
// which the guest cannot see.
func PrivateRoot(domid uint32) string { return "/xapi/" + strconv.FormatUint(uint64(domid), 10) }

// PrivatePath is /xapi/<frontend>/private/<class>/<devid>, where xenopsd
// keeps the ids the hotplug script needs: for a VIF, PrivateVIFUUID and
// PrivateNetworkUUID.
func (d Device) PrivatePath() string {
	return PrivateRoot(d.Frontend) + "/private/" + d.Class + "/" + strconv.Itoa(d.DevID)
}

// The keys of a VIF's private directory.
const (
	PrivateVIFUUID     = "vif-uuid"
	PrivateNetworkUUID = "network-uuid"
)

// Backing is what a device is plugged to: a VBD's params (its disk) and
// mode, or a VIF's MAC address and bridge, and the VIF's ids for its
// private directory (written when set).
type Backing struct {
	Params   string
	ReadOnly bool
	MAC      string // "" means one derived from the device
	Bridge   string
	// VIFUUID and NetworkUUID identify a VIF and its network: the vif
	// hotplug script tags the switch port with them.
	VIFUUID     string
	NetworkUUID string
}

// WriteTrees writes d's backend and frontend trees, both Initialising, with
// the reference's keys and permissions: the backend dom0's and readable by
// the guest, the frontend the guest's and readable by dom0. Each directory
// is made with its permissions first, so that the keys inherit them.
func WriteTrees(ctx context.Context, tx *xenstore.Tx, d Device, b Backing) error {
	be, fe := d.BackendPath(), d.FrontendPath()
	fed := strconv.FormatUint(uint64(d.Frontend), 10)
	beKeys := [][2]string{{"frontend", fe}, {"frontend-id", fed}, {"online", "1"}, {"state", "1"}}
	// trusted: the frontend need not distrust its backend, dom0's.
	feKeys := [][2]string{{"backend", be}, {"backend-id", "0"}, {"state", "1"}, {"trusted", "1"}}
	if d.Class == ClassVBD {
		mode := "w"
		if b.ReadOnly {
			mode = "r"
		}
		// xen-blkback reads mode, device-type and discard-enable, and
		// physical-device, which hotplug writes.
		beKeys = append(beKeys, [2]string{"removable", "0"}, [2]string{"bootable", "1"},
			[2]string{"dev", vbdName(d.DevID)}, [2]string{"type", "phy"}, [2]string{"mode", mode},
			[2]string{"device-type", "disk"}, [2]string{"discard-enable", "0"}, [2]string{"params", b.Params})
		feKeys = append(feKeys, [2]string{"virtual-device", strconv.Itoa(d.DevID)}, [2]string{"device-type", "disk"})
	} else {
		mac := b.MAC
		if mac == "" {
			mac = fmt.Sprintf("00:16:3e:%02x:%02x:%02x", d.Frontend>>8&0xff, d.Frontend&0xff, d.DevID&0xff)
		}
		handle := strconv.Itoa(d.DevID)
		// xen-netback reads handle (its interface's name) and mac.
		beKeys = append(beKeys, [2]string{"script", "vif"}, [2]string{"mac", mac},
			[2]string{"handle", handle}, [2]string{"type", "vif"}, [2]string{"bridge", b.Bridge})
		feKeys = append(feKeys, [2]string{"handle", handle}, [2]string{"mac", mac}, [2]string{"disconnect", "0"})
	}
	if err := tx.MkdirPerms(ctx, be, []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone},
		{Domid: d.Frontend, Access: xenstore.AccessRead}}); err != nil {
		return err
	}
	if err := tx.WriteKeys(ctx, be, beKeys); err != nil {
		return err
	}
	if err := tx.MkdirPerms(ctx, fe, []xenstore.Perm{{Domid: d.Frontend, Access: xenstore.AccessNone},
		{Domid: 0, Access: xenstore.AccessRead}}); err != nil {
		return err
	}
	if err := tx.WriteKeys(ctx, fe, feKeys); err != nil {
		return err
	}
	var priv [][2]string
	if b.VIFUUID != "" {
		priv = append(priv, [2]string{PrivateVIFUUID, b.VIFUUID})
	}
	if b.NetworkUUID != "" {
		priv = append(priv, [2]string{PrivateNetworkUUID, b.NetworkUUID})
	}
	if len(priv) == 0 {
		return nil
	}
	return tx.WriteKeys(ctx, d.PrivatePath(), priv)
}

// vbdName is the Linux name of a xvd device id (51712 is xvda).
func vbdName(devid int) string {
	if devid>>8 == 202 {
		return "xvd" + string(rune('a'+(devid>>4)&0xf))
	}
	return strconv.Itoa(devid)
}
