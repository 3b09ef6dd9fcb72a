package xen

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Flags of xen_domctl_getdomaininfo (XEN_DOMINF_* of xen/domctl.h).
const (
	dominfDying         = 1 << 0
	dominfHVM           = 1 << 1
	dominfShutdown      = 1 << 2
	dominfPaused        = 1 << 3
	dominfBlocked       = 1 << 4
	dominfRunning       = 1 << 5
	dominfShutdownShift = 16
	dominfShutdownMask  = 255
)

// Emulation flags of an x86 domain (XEN_X86_EMU_* of xen/arch-x86/xen.h): a
// PVH domain has the local APIC only, an HVM domain the PIC too.
const (
	emuLAPIC = 1 << 0
	emuPIC   = 1 << 5
)

// hvmSpecialPages is X86_HVM_NR_SPECIAL_PAGES: the pages the builder of
// an HVM container (PVH) populates beside the guest's RAM for xenstore,
// the console and Xen's own use. DomainInfo does not count them.
const hvmSpecialPages = 8

// maxmemSlackKiB is what libxl adds to a domain's maximum memory
// (LIBXL_MAXMEM_CONSTANT); DomainInfo subtracts it again.
const maxmemSlackKiB = 1024

// invalidVCPUID is XEN_INVALID_MAX_VCPU_ID: the domain has no vCPU yet.
const invalidVCPUID = ^uint32(0)

// rawInfo is the part of xc_domaininfo_t the backend reads.
type rawInfo struct {
	domid     uint32
	flags     uint32
	totPages  uint64
	maxPages  uint64
	cpuTime   uint64 // ns
	maxVCPUID uint32
	handle    [16]byte
	emu       uint32
}

// decodeInfo turns Xen's view of a domain into the interface's. MemoryKiB
// is the guest's RAM: tot_pages, less the special pages of a PVH domain.
// Xen sets
// running only while a vCPU is on a CPU and blocked only when every vCPU
// waits for an event; a domain whose vCPUs are runnable but not scheduled
// has neither, so Running here means "runnable and not blocked" (xl list's
// r or -), never together with Paused, Shutdown or Dying.
func decodeInfo(r rawInfo) hypervisor.DomainInfo {
	info := hypervisor.DomainInfo{
		ID:        hypervisor.DomID(r.domid),
		UUID:      hypervisor.FormatUUID(r.handle),
		Type:      hypervisor.DomainTypePV,
		Paused:    r.flags&dominfPaused != 0,
		Shutdown:  r.flags&dominfShutdown != 0,
		Dying:     r.flags&dominfDying != 0,
		MemoryKiB: r.totPages * (hypervisor.PageSize / 1024),
		MaxMemKiB: r.maxPages * (hypervisor.PageSize / 1024),
		CPUTime:   time.Duration(r.cpuTime),
	}
	if r.flags&dominfHVM != 0 {
		info.Type = hypervisor.DomainTypeHVM
		if r.emu&emuPIC == 0 {
			info.Type = hypervisor.DomainTypePVH
		}
	}
	if info.Shutdown {
		info.ShutdownReason = hypervisor.ShutdownReason(r.flags >> dominfShutdownShift & dominfShutdownMask)
	}
	if info.Type == hypervisor.DomainTypePVH && r.totPages >= hvmSpecialPages {
		info.MemoryKiB -= hvmSpecialPages * (hypervisor.PageSize / 1024)
	}
	if r.domid != 0 && info.MaxMemKiB >= maxmemSlackKiB {
		info.MaxMemKiB -= maxmemSlackKiB
	}
	if r.maxVCPUID != invalidVCPUID {
		info.VCPUs = int(r.maxVCPUID) + 1
	}
	if !info.Paused && !info.Shutdown && !info.Dying {
		info.Blocked = r.flags&dominfBlocked != 0 && r.flags&dominfRunning == 0
		info.Running = !info.Blocked
	}
	return info
}

// errnoKind returns the errdefs kind of an errno of libxenctrl: ESRCH is
// ErrNotFound, ENOMEM ErrResourceExhausted, EEXIST and EBUSY ErrBusy,
// EINVAL ErrInvalid, EPERM and EACCES ErrPermission, anything else
// ErrUnavailable.
func errnoKind(err error) error {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return errdefs.ErrUnavailable
	}
	switch e {
	case syscall.ESRCH:
		return errdefs.ErrNotFound
	case syscall.ENOMEM:
		return errdefs.ErrResourceExhausted
	case syscall.EEXIST, syscall.EBUSY:
		return errdefs.ErrBusy
	case syscall.EINVAL:
		return errdefs.ErrInvalid
	case syscall.EPERM, syscall.EACCES:
		return errdefs.ErrPermission
	}
	return errdefs.ErrUnavailable
}

// domErr wraps err of op on domain id with its errdefs kind:
// "pause: domain 7: not found (no such process)".
func domErr(op string, id hypervisor.DomID, err error) error {
	return fmt.Errorf("%s: domain %d: %w (%w)", op, id, errnoKind(err), err)
}
