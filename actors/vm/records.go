package vm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// PCI is a PCI device passed through to the VM (xenopsd's Pci.t).
type PCI struct {
	DevID int // the device's position on the VM's virtual PCI bus, unique among the VM's PCIs
	// Address is the host device in Xen's BDF form, "0000:03:00.0" (the
	// domain may be left out: "03:00.0").
	Address string
	// MSITranslate routes the device's MSIs through the device model;
	// PowerMgmt lets the guest manage the device's power states.
	MSITranslate bool
	PowerMgmt    bool
}

// VGPU is a virtual GPU of the VM, a slice of a physical GPU.
type VGPU struct {
	DevID int
	// Type is the vGPU type, e.g. an NVIDIA type name ("GRID T4-2Q").
	Type string
	// PhysicalAddress is the physical GPU in BDF form.
	PhysicalAddress string
	// UUID identifies the vGPU instance (its mediated device).
	UUID string
}

// VUSB is a host USB device passed through to the VM. The device is named
// either by HostBus and HostPort (QEMU's usb-host hostbus and hostport:
// bus 2, port path "1.3") or by Path, the same in the "bus-port" form of
// Linux's sysfs ("2-1.3").
type VUSB struct {
	DevID    int
	HostBus  int
	HostPort string
	Path     string
	// Version is the USB version the guest's controller offers: "1.1",
	// "2.0" or "3.0"; "" is "2.0".
	Version string
}

// BDF is a PCI address: domain (segment), bus, device and function.
type BDF struct {
	Domain   uint16
	Bus      uint8
	Device   uint8 // 0 to 0x1f
	Function uint8 // 0 to 7
}

// String returns the BDF in Xen's form, "0000:03:00.0".
func (b BDF) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", b.Domain, b.Bus, b.Device, b.Function)
}

// ParseBDF parses a PCI address in Xen's form, "dddd:bb:dd.f" in hex, or
// "bb:dd.f" for domain 0. Anything else is errdefs.ErrInvalid.
func ParseBDF(s string) (BDF, error) {
	bad := func(why string) (BDF, error) {
		return BDF{}, fmt.Errorf("PCI address %q: %s, want dddd:bb:dd.f: %w", s, why, errdefs.ErrInvalid)
	}
	parts := strings.Split(s, ":")
	if len(parts) == 2 {
		parts = append([]string{"0000"}, parts...)
	}
	if len(parts) != 3 {
		return bad("not in BDF form")
	}
	dev, fn, ok := strings.Cut(parts[2], ".")
	if !ok {
		return bad("no function")
	}
	var b BDF
	for _, f := range []struct {
		s     string
		width int
		max   uint64
		set   func(uint64)
		name  string
	}{
		{parts[0], 4, 0xffff, func(v uint64) { b.Domain = uint16(v) }, "domain"},
		{parts[1], 2, 0xff, func(v uint64) { b.Bus = uint8(v) }, "bus"},
		{dev, 2, 0x1f, func(v uint64) { b.Device = uint8(v) }, "device"},
		{fn, 1, 7, func(v uint64) { b.Function = uint8(v) }, "function"},
	} {
		if len(f.s) != f.width {
			return bad(f.name + " has the wrong number of digits")
		}
		v, err := strconv.ParseUint(f.s, 16, 16)
		if err != nil || v > f.max {
			return bad(f.name + " is not hex or out of range")
		}
		f.set(v)
	}
	return b, nil
}

// usbLocation is where a VUSB's device sits on the host: "bus-port".
func (u VUSB) location() (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("VUSB %d: %s: %w", u.DevID, why, errdefs.ErrInvalid)
	}
	bus, port := u.HostBus, u.HostPort
	switch {
	case u.Path != "" && (u.HostPort != "" || u.HostBus != 0):
		return bad("give either Path or HostBus and HostPort, not both")
	case u.Path != "":
		b, p, ok := strings.Cut(u.Path, "-")
		n, err := strconv.Atoi(b)
		if !ok || err != nil || b != strconv.Itoa(n) {
			return bad(fmt.Sprintf("path %q is not bus-port", u.Path))
		}
		bus, port = n, p
	case u.HostPort == "":
		return bad("no HostPort or Path")
	}
	if bus < 1 || bus > 255 {
		return bad(fmt.Sprintf("host bus %d is not within [1, 255]", bus))
	}
	// A port path is up to 7 tiers of port numbers (a root port and hubs).
	ports := strings.Split(port, ".")
	if len(ports) > 7 {
		return bad(fmt.Sprintf("host port %q is more than 7 tiers deep", port))
	}
	for _, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil || p != strconv.Itoa(n) || n < 1 || n > 255 {
			return bad(fmt.Sprintf("host port %q is not dot-separated port numbers", port))
		}
	}
	return strconv.Itoa(bus) + "-" + port, nil
}

// passthroughMissing is errdefs.ErrNotImplemented naming what the VM's
// PCI, vGPU and VUSB records need, or nil when it has none; vGPUs are
// provided when haveVGPU (Config.VGPUs is set).
func passthroughMissing(spec Spec, haveVGPU bool) error {
	var missing []string
	if len(spec.PCIs) > 0 {
		missing = append(missing, "PCI passthrough needs the device-model daemon, not available yet")
	}
	if len(spec.VGPUs) > 0 && !haveVGPU {
		missing = append(missing, "vGPUs need the vGPU emulator (DEMU), not configured (Config.VGPUs)")
	}
	if len(spec.VUSBs) > 0 {
		missing = append(missing, "USB passthrough needs the device-model daemon, not available yet")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("vm %s: %s: %w", spec.UUID, strings.Join(missing, "; "), errdefs.ErrNotImplemented)
}
