package sim

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// XenbusState is a XenBus device state (xen/include/public/io/xenbus.h).
type XenbusState int

// The XenBus states.
const (
	StateUnknown       XenbusState = 0
	StateInitialising  XenbusState = 1
	StateInitWait      XenbusState = 2
	StateInitialised   XenbusState = 3
	StateConnected     XenbusState = 4
	StateClosing       XenbusState = 5
	StateClosed        XenbusState = 6
	StateReconfiguring XenbusState = 7
	StateReconfigured  XenbusState = 8
	// stateMissing stands for a state node that does not exist (or holds junk).
	stateMissing XenbusState = -1
)

var stateNames = [...]string{"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
	"Closing", "Closed", "Reconfiguring", "Reconfigured"}

func (s XenbusState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "Missing"
}

// Value is the state as written to xenstore.
func (s XenbusState) Value() []byte { return []byte(strconv.Itoa(int(s))) }

// readState reads a state node; a missing, unreadable or junk node is stateMissing.
func readState(ctx context.Context, h xenstore.Handle, path string) XenbusState {
	v, err := h.Read(ctx, path)
	if err != nil {
		return stateMissing
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(v)))
	if err != nil || n < 0 || n > int(StateReconfigured) {
		return stateMissing
	}
	return XenbusState(n)
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

// BackendPath is /local/domain/0/backend/<class>/<frontend>/<devid>.
func (k DeviceKey) BackendPath() string {
	return "/local/domain/0/backend/" + string(k.Class) + "/" + strconv.FormatUint(uint64(k.Frontend), 10) +
		"/" + strconv.Itoa(k.DevID)
}

// FrontendPath is /local/domain/<frontend>/device/<class>/<devid>.
func (k DeviceKey) FrontendPath() string {
	return xenstore.DomainPath(k.Frontend) + "/device/" + string(k.Class) + "/" + strconv.Itoa(k.DevID)
}

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
