package hotplug

import (
	"context"
	"strconv"
)

// The device classes hotplug serves.
const (
	ClassVBD = "vbd"
	ClassVIF = "vif"
)

// Device names one PV device by its class, frontend domain and device id.
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
	return "/local/domain/" + strconv.FormatUint(uint64(d.Frontend), 10) + "/device/" + d.Class + "/" +
		strconv.Itoa(d.DevID)
}

// Hotplug runs the hotplug scripts of PV devices whose backend tree the
// toolstack has written.
type Hotplug interface {
	// Add brings up the device: it ends with hotplug-status=connected in the
	// backend directory, or hotplug-error written and an error returned.
	// For a VIF the caller waits for the backend's InitWait first, when
	// netback has created the interface.
	Add(ctx context.Context, d Device) error
	// Remove undoes Add once the device is unplugged; removing a device
	// that was never added does nothing.
	Remove(ctx context.Context, d Device) error
}
