package sim

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// stateMissing stands for a state node that does not exist (or holds junk).
const stateMissing xenbus.State = -1

// readState reads a state node; a missing, unreadable or junk node is stateMissing.
func readState(ctx context.Context, h xenstore.Handle, path string) xenbus.State {
	v, err := h.Read(ctx, path)
	if err != nil {
		return stateMissing
	}
	st, ok := xenbus.ParseState(string(v))
	if !ok {
		return stateMissing
	}
	return st
}

// readString reads a node as a string; ok is false when it is missing.
func readString(ctx context.Context, h xenstore.Handle, path string) (string, bool) {
	v, err := h.Read(ctx, path)
	if err != nil {
		return "", false
	}
	return string(v), true
}

// DeviceClass is a PV device class: "vbd" or "vif".
type DeviceClass string

// The device classes the simulated host's backends serve.
const (
	VBD DeviceClass = "vbd"
	VIF DeviceClass = "vif"
)

// DeviceKey names one PV device.
type DeviceKey struct {
	Class    DeviceClass
	Frontend uint32 // the frontend (guest) domain
	DevID    int
}

// Device is k as package xenbus names a device.
func (k DeviceKey) Device() xenbus.Device {
	return xenbus.Device{Class: string(k.Class), Frontend: k.Frontend, DevID: k.DevID}
}

// BackendPath is /local/domain/0/backend/<class>/<frontend>/<devid>.
func (k DeviceKey) BackendPath() string { return k.Device().BackendPath() }

// FrontendPath is /local/domain/<frontend>/device/<class>/<devid>.
func (k DeviceKey) FrontendPath() string { return k.Device().FrontendPath() }

// parseDevicePath finds the device a changed path belongs to: a backend
// path under /local/domain/0/backend/<class>/<fe>/<devid> or a frontend
// path under /local/domain/<fe>/device/<class>/<devid>.
func parseDevicePath(p string) (DeviceKey, bool) {
	rest, ok := strings.CutPrefix(p, "/local/domain/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 4 {
		return DeviceKey{}, false
	}
	var class, fe, dev string
	switch {
	case parts[0] == "0" && parts[1] == "backend" && len(parts) >= 5:
		class, fe, dev = parts[2], parts[3], parts[4]
	case parts[1] == "device":
		class, fe, dev = parts[2], parts[0], parts[3]
	default:
		return DeviceKey{}, false
	}
	if class != string(VBD) && class != string(VIF) {
		return DeviceKey{}, false
	}
	d, ok := xenstore.ParseDomid(fe)
	n, err := strconv.Atoi(dev)
	if !ok || err != nil || n < 0 {
		return DeviceKey{}, false
	}
	return DeviceKey{Class: DeviceClass(class), Frontend: d, DevID: n}, true
}

// ignorable reports errors a simulated driver shrugs off: the node went
// away or the other side changed it meanwhile; the next event re-reads.
func ignorable(err error) bool {
	return err == nil || errdefs.IsNotFound(err) || errdefs.IsConflict(err) || errors.Is(err, context.Canceled)
}
