package hotplug

import (
	"context"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

// The device classes hotplug handles.
const (
	ClassVBD = xenbus.ClassVBD
	ClassVIF = xenbus.ClassVIF
)

// Device names the device to hotplug; see xenbus.Device.
type Device = xenbus.Device

// Hotplug runs the hotplug step of a device, which XenServer's toolstack
// runs itself: Add once the backend tree is written (for a VBD it publishes
// physical-device; for a VIF it puts netback's interface on its bridge),
// then hotplug-status=connected, or hotplug-error when it fails; Remove when
// the device goes.
type Hotplug interface {
	Add(ctx context.Context, d Device) error
	Remove(ctx context.Context, d Device) error
}
