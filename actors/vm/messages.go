package vm

import (
	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
)

// Spec describes a VM: what its domain is created and built with and its
// devices.
type Spec struct {
	UUID      string
	Name      string
	Type      hypervisor.DomainType
	VCPUs     int
	MemoryKiB uint64
	Kernel    string
	// Ramdisk is the initial ramdisk of a PV or PVH kernel; Cmdline the
	// kernel's command line. Both are optional.
	Ramdisk string
	Cmdline string
	VBDs    []VBD
	VIFs    []VIF
	// PCIs, VGPUs and VUSBs are passed-through devices (records.go). The
	// device-model daemon they need does not exist yet: a VM with any of
	// them does not start or resume (errdefs.ErrNotImplemented).
	PCIs  []PCI
	VGPUs []VGPU
	VUSBs []VUSB
	// OnShutdown, OnReboot and OnCrash say what a check state does with a
	// domain that shut down for poweroff (or halt), reboot, and crash (or
	// watchdog). ActionDefault takes XenServer's defaults: destroy on
	// shutdown, restart on reboot and on crash.
	OnShutdown Action
	OnReboot   Action
	OnCrash    Action
}

// Action is what is done with a domain that shut down by itself.
type Action int

// The actions.
const (
	ActionDefault  Action = iota // the default of the reason
	ActionDestroy                // tear the domain down; the VM ends Halted
	ActionRestart                // tear the domain down and start the VM again, unpaused
	ActionPreserve               // leave the shut-down domain; a DestroyVM cleans it
)

// String returns the action's name.
func (a Action) String() string {
	switch a {
	case ActionDefault:
		return "default"
	case ActionDestroy:
		return "destroy"
	case ActionRestart:
		return "restart"
	case ActionPreserve:
		return "preserve"
	}
	return "Action(?)"
}

// CheckState asks the VM actor to look at its domain: a check operation is
// queued (at most one waits at a time) that applies the spec's action to a
// domain that shut down, and cleans up after one that vanished. There is no
// reply.
//
// Why holds the reasons, joined with commas as actors/watches joins them.
// When one is data, attr, memory, feature, control, watched or reconnected,
// the guest actor reads the guest's reports again; when they are only data,
// attr, memory and feature (areas only the guest writes), no check is
// queued.
type CheckState struct{ Why string }

// DestroyStrays tells the VM actor of domains with the VM's uuid that are
// not its domain, seen while none of its operations ran: left by an
// operation that was interrupted (a resume of an actor restarted while it
// ran, say). The actor queues their destruction behind its operations; one
// that by then is its domain is kept. No reply.
type DestroyStrays struct{ DomIDs []hypervisor.DomID }

// VBD is a virtual block device.
type VBD struct {
	DevID    int    // e.g. 51712 for xvda
	Params   string // the disk, e.g. /dev/loop0
	ReadOnly bool
	// VDI, when set, is the volume "<sr>/<key>" the VBD is plugged through
	// storage (Config.Storage): plug attaches and activates it and gives
	// blkback the params the plugin returned (Params is then not used);
	// unplug deactivates and detaches it.
	VDI string
}

// VIF is a virtual network interface.
type VIF struct {
	DevID  int
	MAC    string
	Bridge string
	// UUID and Network (the network's uuid), when set, are written to the
	// VIF's private directory (/xapi/<domid>/private/vif/<devid>), and the
	// hotplug step tags the VIF's switch port with them.
	UUID    string
	Network string
	// PVS, when set, has the VIF served by the PVS proxy (pvs.go): its
	// keys are written to the private directory and OpenFlow rules steer
	// its PVS traffic to the proxy's port (Config.PVSSwitch).
	PVS *PVSProxy
}

// StartVM creates, builds and plugs the VM's domain, and unpauses it
// unless Paused. The reply is an OperationReply.
type StartVM struct{ Paused bool }

// UnpauseVM lets the VM's domain run. The reply is an OperationReply.
type UnpauseVM struct{}

// PauseVM stops the VM's vCPUs. The reply is an OperationReply.
type PauseVM struct{}

// ShutdownVM shuts the VM down and destroys its domain: cleanly (ask the
// guest, wait for the acknowledgement and the shutdown) or, when Hard,
// through the hypervisor. A hard shutdown cancels a clean one that is
// running or queued. The reply is an OperationReply.
type ShutdownVM struct{ Hard bool }

// RebootVM reboots the VM into a new domain, unpaused: cleanly (ask the
// guest to reboot, wait for the acknowledgement and the shutdown) or, when
// Hard, through the hypervisor; then the old domain is torn down and the VM
// started again. The reply is an OperationReply.
type RebootVM struct{ Hard bool }

// SetMemoryTarget sets the balloon target of the running VM in KiB,
// within (0, Spec.MemoryKiB]; it fails errdefs.ErrNotImplemented when the
// guest published no control/feature-balloon. The reply is an
// OperationReply.
type SetMemoryTarget struct{ KiB uint64 }

// SetVCPUs sets the number of online vCPUs of the running VM, within
// [1, Spec.VCPUs] (the domain's maximum). The reply is an OperationReply.
type SetVCPUs struct{ N int }

// PlugVBD adds a VBD to the VM: it is plugged at once into a running VM
// (within HotplugTimeout), and the spec gains it. The reply is an
// OperationReply.
type PlugVBD struct{ VBD VBD }

// UnplugVBD removes the VBD DevID from the VM: cleanly (online=0, the
// backend Closing, then frontend and backend Closed within UnplugTimeout,
// else it fails and the device stays) or, when Force, at once. The spec
// loses it. The reply is an OperationReply.
type UnplugVBD struct {
	DevID int
	Force bool
}

// PlugVIF adds a VIF to the VM as PlugVBD does a VBD.
type PlugVIF struct{ VIF VIF }

// UnplugVIF removes the VIF DevID as UnplugVBD does a VBD.
type UnplugVIF struct {
	DevID int
	Force bool
}

// DestroyVM destroys the VM's domain at once, without shutting it down;
// of a Suspended VM it deletes the image. The reply is an OperationReply.
type DestroyVM struct{}

// SuspendVM suspends the running VM to the image file Path (created 0600,
// written atomically; an existing file is not replaced): the guest is
// asked (control/shutdown=suspend), must acknowledge within AckTimeout
// and shut down for suspend within SuspendTimeout; its memory is saved and
// its domain destroyed. The VM ends Suspended. The reply is an
// OperationReply (task kind "VM.suspend").
type SuspendVM struct{ Path string }

// ResumeVM resumes the Suspended VM from its image into a new domain,
// plugs its devices as a start does, and unpauses it unless Paused; the
// image is then deleted. On failure the VM stays Suspended with its image.
// The reply is an OperationReply (task kind "VM.resume").
type ResumeVM struct{ Paused bool }

// StatVM asks for the VM's status; the reply is a VMStatus.
type StatVM struct{}

// OperationReply answers a command at once with the id of the task that
// follows its operation, or Err when no operation was started.
type OperationReply struct {
	TaskID string
	Err    error
}

// PowerState is a VM's power state.
type PowerState int

// The power states.
const (
	Halted   PowerState = iota // no domain
	Paused                     // the domain exists and is paused
	Running                    // the domain runs
	Shutdown                   // the domain shut down and is not destroyed yet
)

// Suspended is the power state of a VM without a domain whose memory is
// in its suspend image (SuspendVM); ResumeVM runs it again.
const Suspended PowerState = Shutdown + 1

// HasDomain reports whether a VM in this power state has a domain:
// Paused, Running or Shutdown. Halted and Suspended VMs have none.
func (p PowerState) HasDomain() bool { return p == Paused || p == Running || p == Shutdown }

// String returns the state's name.
func (p PowerState) String() string {
	switch p {
	case Halted:
		return "Halted"
	case Paused:
		return "Paused"
	case Running:
		return "Running"
	case Shutdown:
		return "Shutdown"
	case Suspended:
		return "Suspended"
	}
	return "PowerState(?)"
}

// VMStatus answers StatVM. DomID is meaningful only when PowerState is not
// Halted; Err is set when the status could not be read in full.
type VMStatus struct {
	UUID       string
	PowerState PowerState
	DomID      hypervisor.DomID
	Devices    []DeviceStatus
	Err        error
	// LastError is the last error of an operation the VM actor ran by
	// itself (a check state); CrashLoop is set when the VM crashed too often
	// and was left Halted. A StartVM clears both.
	LastError error
	CrashLoop bool
	// Guest holds what the guest last reported about itself (OS, addresses
	// of each VIF, memory, PV driver features), read by the guest actor
	// under its quota; nil when the VM has no domain or the guest has
	// reported nothing yet. It is the caller's copy.
	Guest *guest.GuestMetrics
	// SuspendImage is the image file of a Suspended VM.
	SuspendImage string
	// DaemonFaults are the host daemons the VM depends on that were given
	// up on (DaemonFailed), sorted by name; nil when there are none.
	DaemonFaults []DaemonFault
	// PCIs, VGPUs and VUSBs are the spec's passed-through devices.
	PCIs  []PCI
	VGPUs []VGPU
	VUSBs []VUSB
}

// DeviceStatus is the XenBus state of one PV device.
type DeviceStatus struct {
	Class         string // "vbd" or "vif"
	DevID         int
	BackendState  xenbus.State
	FrontendState xenbus.State
}
