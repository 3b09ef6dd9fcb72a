package vm

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// MaxCmdline is the longest kernel command line Xen's domain builder
// takes (MAX_GUEST_CMDLINE).
const MaxCmdline = 1024

// Validate checks the spec: a uuid, a domain type, vCPUs and memory; a
// kernel command line Xen takes, a ramdisk only with a kernel; VBDs
// with positive, distinct DevIDs and a disk; VIFs with distinct DevIDs and
// a unicast MAC address; PCIs with well-formed, distinct BDF addresses;
// vGPUs with a type, a physical GPU and a uuid; VUSBs naming a host bus
// and port; and, in each class, distinct DevIDs. Every problem found is
// reported, joined, each wrapping errdefs.ErrInvalid.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("vm %s: "+format+": %w", append([]any{s.UUID}, append(args,
			errdefs.ErrInvalid)...)...))
	}
	if _, err := hypervisor.ParseUUID(s.UUID); err != nil {
		bad("%v", err)
	}
	if !s.Type.Valid() {
		bad("domain type %s", s.Type)
	}
	if s.VCPUs < 1 || s.VCPUs > hypervisor.MaxVCPUs {
		bad("%d vCPUs is not within [1, %d]", s.VCPUs, hypervisor.MaxVCPUs)
	}
	if s.MemoryKiB == 0 {
		bad("no memory")
	}
	if len(s.Cmdline) > MaxCmdline {
		bad("a kernel command line of %d bytes is longer than Xen's %d", len(s.Cmdline), MaxCmdline)
	}
	if strings.ContainsRune(s.Cmdline, 0) || strings.ContainsRune(s.Kernel, 0) || strings.ContainsRune(s.Ramdisk, 0) {
		bad("a NUL byte in the kernel, ramdisk or command line")
	}
	if s.Ramdisk != "" && s.Kernel == "" {
		bad("a ramdisk without a kernel")
	}
	devids := func(class string) func(int) {
		seen := map[int]bool{}
		return func(id int) {
			if seen[id] {
				bad("duplicate %s devid %d", class, id)
			}
			seen[id] = true
		}
	}
	vbd := devids("VBD")
	for _, v := range s.VBDs {
		vbd(v.DevID)
		if err := validateVBD(v); err != nil {
			errs = append(errs, fmt.Errorf("vm %s: %w", s.UUID, err))
		}
	}
	vif, macs := devids("VIF"), map[string]int{}
	for _, v := range s.VIFs {
		vif(v.DevID)
		if err := validateVIF(v); err != nil {
			errs = append(errs, fmt.Errorf("vm %s: %w", s.UUID, err))
			continue
		}
		mac, _ := net.ParseMAC(v.MAC)
		if other, ok := macs[mac.String()]; ok {
			bad("VIFs %d and %d have the same MAC %s", other, v.DevID, v.MAC)
		}
		macs[mac.String()] = v.DevID
	}
	pci, addrs := devids("PCI"), map[BDF]int{}
	for _, p := range s.PCIs {
		pci(p.DevID)
		if p.DevID < 0 {
			bad("PCI devid %d is negative", p.DevID)
		}
		b, err := ParseBDF(p.Address)
		if err != nil {
			bad("PCI %d: %v", p.DevID, err)
			continue
		}
		if other, ok := addrs[b]; ok {
			bad("PCIs %d and %d both pass through %s", other, p.DevID, b)
		}
		addrs[b] = p.DevID
	}
	vgpu, uuids := devids("VGPU"), map[string]bool{}
	for _, g := range s.VGPUs {
		vgpu(g.DevID)
		if g.DevID < 0 {
			bad("VGPU devid %d is negative", g.DevID)
		}
		if strings.TrimSpace(g.Type) == "" {
			bad("VGPU %d has no type", g.DevID)
		}
		if b, err := ParseBDF(g.PhysicalAddress); err != nil {
			bad("VGPU %d: physical GPU: %v", g.DevID, err)
		} else if p, ok := addrs[b]; ok {
			bad("VGPU %d is on %s, which PCI %d passes through whole", g.DevID, b, p)
		}
		u, err := hypervisor.ParseUUID(g.UUID)
		if err != nil {
			bad("VGPU %d: %v", g.DevID, err)
			continue
		}
		if id := hypervisor.FormatUUID(u); uuids[id] {
			bad("VGPU uuid %s is used twice", g.UUID)
		} else {
			uuids[id] = true
		}
	}
	vusb, where := devids("VUSB"), map[string]int{}
	for _, u := range s.VUSBs {
		vusb(u.DevID)
		if u.DevID < 0 {
			bad("VUSB devid %d is negative", u.DevID)
		}
		switch u.Version {
		case "", "1.1", "2.0", "3.0":
		default:
			bad("VUSB %d: USB version %q, want 1.1, 2.0 or 3.0", u.DevID, u.Version)
		}
		loc, err := u.location()
		if err != nil {
			errs = append(errs, fmt.Errorf("vm %s: %w", s.UUID, err))
			continue
		}
		if other, ok := where[loc]; ok {
			bad("VUSBs %d and %d are both the host's %s", other, u.DevID, loc)
		}
		where[loc] = u.DevID
	}
	return errors.Join(errs...)
}

// validateVBD checks one VBD: a positive DevID (a virtual device number,
// 51712 for xvda) and a disk: Params, or a VDI reference "<sr>/<key>".
func validateVBD(v VBD) error {
	if v.DevID <= 0 {
		return fmt.Errorf("VBD devid %d is not a virtual device number: %w", v.DevID, errdefs.ErrInvalid)
	}
	if v.VDI != "" {
		if _, _, err := storage.ParseVDI(v.VDI); err != nil {
			return fmt.Errorf("VBD %d: %w", v.DevID, err)
		}
		return nil
	}
	if strings.TrimSpace(v.Params) == "" {
		return fmt.Errorf("VBD %d has no disk (Params): %w", v.DevID, errdefs.ErrInvalid)
	}
	return nil
}

// validateVIF checks one VIF: a DevID of 0 or more and a unicast MAC
// address in the colon form, "00:16:3e:12:34:56".
func validateVIF(v VIF) error {
	if v.DevID < 0 {
		return fmt.Errorf("VIF devid %d is negative: %w", v.DevID, errdefs.ErrInvalid)
	}
	mac, err := net.ParseMAC(v.MAC)
	switch {
	case err != nil || len(mac) != 6 || len(v.MAC) != 17 || strings.Contains(v.MAC, "-"):
		return fmt.Errorf("VIF %d: MAC %q is not six colon-separated hex bytes: %w", v.DevID, v.MAC, errdefs.ErrInvalid)
	case mac[0]&1 != 0:
		return fmt.Errorf("VIF %d: MAC %s is a multicast address: %w", v.DevID, v.MAC, errdefs.ErrInvalid)
	}
	for what, u := range map[string]string{"uuid": v.UUID, "network uuid": v.Network} {
		if _, err := hypervisor.ParseUUID(u); u != "" && err != nil {
			return fmt.Errorf("VIF %d: %s %q: %w", v.DevID, what, u, errdefs.ErrInvalid)
		}
	}
	return nil
}

// Validate checks the VBD as Spec.Validate checks each of a spec's VBDs.
func (v VBD) Validate() error { return validateVBD(v) }

// Validate checks the VIF as Spec.Validate checks each of a spec's VIFs.
func (v VIF) Validate() error { return validateVIF(v) }
