package hypervisor

import (
	"strconv"
	"time"
)

// DomID is a Xen domain id (domid_t).
type DomID uint32

// Well-known domain ids of xen/include/public/xen.h.
const (
	// Dom0 is the control domain, where the toolstack runs.
	Dom0 DomID = 0
	// DomIDFirstReserved is DOMID_FIRST_RESERVED: ids from here up are
	// special (DOMID_SELF, DOMID_IO, ...) and never name a real domain.
	DomIDFirstReserved DomID = 0x7FF0
	// DomIDInvalid is DOMID_INVALID.
	DomIDInvalid DomID = 0x7FF4
)

// String returns the id in decimal.
func (d DomID) String() string { return strconv.FormatUint(uint64(d), 10) }

// DomainType is the virtualisation mode of a domain.
type DomainType uint8

// The domain types. The zero value is not a type, so a forgotten field is an
// error rather than a PV guest.
const (
	DomainTypePV  DomainType = iota + 1 // paravirtualised, no hardware virtualisation
	DomainTypePVH                       // HVM container without emulated devices
	DomainTypeHVM                       // fully virtualised, with a device model
)

// String returns "pv", "pvh" or "hvm".
func (t DomainType) String() string {
	switch t {
	case DomainTypePV:
		return "pv"
	case DomainTypePVH:
		return "pvh"
	case DomainTypeHVM:
		return "hvm"
	}
	return "DomainType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the defined types.
func (t DomainType) Valid() bool { return t >= DomainTypePV && t <= DomainTypeHVM }

// ShutdownReason is the reason code a domain shut down with (SHUTDOWN_* of
// xen/include/public/sched.h).
type ShutdownReason uint8

// The shutdown reasons.
const (
	ShutdownPoweroff  ShutdownReason = 0
	ShutdownReboot    ShutdownReason = 1
	ShutdownSuspend   ShutdownReason = 2
	ShutdownCrash     ShutdownReason = 3
	ShutdownWatchdog  ShutdownReason = 4
	ShutdownSoftReset ShutdownReason = 5
)

var reasonNames = [...]string{"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}

// String returns the reason's name: poweroff, reboot, suspend, crash,
// watchdog or soft_reset.
func (r ShutdownReason) String() string {
	if r.Valid() {
		return reasonNames[r]
	}
	return "ShutdownReason(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is one of the defined reasons.
func (r ShutdownReason) Valid() bool { return int(r) < len(reasonNames) }

// ShutdownReasons lists every defined reason in code order.
func ShutdownReasons() []ShutdownReason {
	return []ShutdownReason{ShutdownPoweroff, ShutdownReboot, ShutdownSuspend,
		ShutdownCrash, ShutdownWatchdog, ShutdownSoftReset}
}

// CreateConfig describes a domain to create (XEN_DOMCTL_createdomain).
type CreateConfig struct {
	// UUID is the domain handle in canonical 8-4-4-4-12 hex form.
	UUID string
	// Type is the virtualisation mode.
	Type DomainType
	// MaxVCPUs is the number of vCPUs, at least 1.
	MaxVCPUs int
	// MaxMemKiB is the memory limit; 0 leaves it to SetMaxMem before Build.
	MaxMemKiB uint64
}

// BuildConfig describes how to load a created domain (what xenguest is given).
type BuildConfig struct {
	Kernel   string // PV/PVH kernel image path
	Ramdisk  string // optional initial ramdisk path
	Cmdline  string // kernel command line
	Firmware string // HVM firmware (hvmloader) or PVH firmware path
	// MemoryKiB is the memory the domain starts with; at most its MaxMemKiB.
	MemoryKiB uint64
	// TargetKiB is the initial balloon target; 0 means MemoryKiB.
	TargetKiB uint64
	// ConsoleDomid and StoreDomid are the domains serving the console and
	// xenstore rings (usually Dom0).
	ConsoleDomid DomID
	StoreDomid   DomID
}

// BuildResult is what a build or restore leaves for the toolstack: the ring
// pages and event channels of xenstore and the console. StoreGFN and
// StorePort go to xenstore's INTRODUCE.
type BuildResult struct {
	StoreGFN    uint64
	StorePort   uint32
	ConsoleGFN  uint64
	ConsolePort uint32
}

// DomainInfo is the state of one domain (xc_domaininfo_t).
type DomainInfo struct {
	ID   DomID
	UUID string
	Type DomainType
	// Running means a vCPU is executing; Blocked means the domain is
	// runnable but idle. Neither is set while paused, shut down or dying, so
	// "runnable" is !Paused && !Shutdown && !Dying.
	Running bool
	Blocked bool
	Paused  bool
	// Shutdown is set once the domain shut down; ShutdownReason says why.
	Shutdown       bool
	ShutdownReason ShutdownReason
	// Dying is set between Destroy and the domain's disappearance.
	Dying bool
	// MemoryKiB is the memory the domain holds; MaxMemKiB its limit;
	// TargetKiB the balloon target set by the toolstack.
	MemoryKiB uint64
	MaxMemKiB uint64
	TargetKiB uint64
	VCPUs     int
	// CPUTime is the processor time the domain has used.
	CPUTime time.Duration
}

// SaveOptions tunes Migration.Save.
type SaveOptions struct {
	// DirtyOnly writes, instead of every page, only the pages in the dirty
	// log (clearing it): the last round of a live migration whose earlier
	// rounds were sent with ReadPages. Dirty logging must be enabled.
	DirtyOnly bool
}
