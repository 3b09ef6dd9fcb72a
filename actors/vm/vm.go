package vm

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvtrace"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/supervisors"
)

// The defaults of the reference (xenopsd's) for the operations' timeouts.
const (
	DefaultAckTimeout      = 60 * time.Second
	DefaultShutdownTimeout = 60 * time.Second
	DefaultHotplugTimeout  = 300 * time.Second
	DefaultUnplugTimeout   = 10 * time.Second
	DefaultCleanupTimeout  = 30 * time.Second
	DefaultSuspendTimeout  = 1200 * time.Second
)

// The defaults of the crash-loop rule: more than DefaultCrashLoopMax
// crashes within DefaultCrashLoopWindow leave the VM Halted.
const (
	DefaultCrashLoopMax    = 3
	DefaultCrashLoopWindow = 60 * time.Second
)

// Config is what a VM actor works with. Zero timeouts take the defaults.
type Config struct {
	Spec       Spec
	Hypervisor hypervisor.Hypervisor
	Xenstore   *xenstore.Client // dom0's connection
	Hotplug    hotplug.Hotplug
	Tasks      *actor.PID // the task registry
	Events     *actor.PID // the update stream; nil announces nothing

	// Storage holds the SRs that VBDs with a VDI are plugged through
	// (storage.go); nil fails the plug of such a VBD.
	Storage *storage.Registry

	// AckTimeout bounds the wait for the guest to acknowledge a clean
	// shutdown request; ShutdownTimeout the wait for the domain to shut down
	// after it did.
	AckTimeout      time.Duration
	ShutdownTimeout time.Duration
	// SuspendTimeout bounds the wait for the domain to shut down for
	// suspend after the guest acknowledged the request.
	SuspendTimeout time.Duration
	// HotplugTimeout bounds the wait for hotplug-status of each device;
	// UnplugTimeout the wait for a backend to close on a forced unplug.
	HotplugTimeout time.Duration
	UnplugTimeout  time.Duration
	// CleanupTimeout bounds the teardown after a failed or cancelled start.
	CleanupTimeout time.Duration
	// CrashLoopMax and CrashLoopWindow: when the VM crashed more than
	// CrashLoopMax times within CrashLoopWindow, it is not restarted again
	// but destroyed and left Halted with CrashLoop set.
	CrashLoopMax    int
	CrashLoopWindow time.Duration
	// AdoptDomID, when not 0, is the domain a previous VM actor (of an
	// earlier daemon) left running: on start the actor adopts it if it
	// exists with the spec's uuid (power state from the hypervisor, no
	// re-plug; a domain that shut down meanwhile gets the spec's action),
	// and cleans up its leftover xenstore trees if it is gone. A domain
	// with another uuid is not touched; the VM stays Halted.
	AdoptDomID hypervisor.DomID
	// Journal persists the VM's record (spec with its hot-plugged devices,
	// domain, command in flight) and is what every incarnation of the actor
	// starts from: its record's Spec and DomID replace Spec and AdoptDomID,
	// a command it shows in flight has its task failed as interrupted, and
	// a domain it shows half made is destroyed. Nil keeps the record in
	// memory only (a journal of Spec and AdoptDomID), which still serves a
	// restart by the supervisor.
	Journal *Journal
	// Strays are domains of this VM's uuid that the record does not hold,
	// found by a daemon started again (an operation created them and the
	// daemon died before it recorded them): the first incarnation destroys
	// them.
	Strays []hypervisor.DomID
	// DomainUUID, when set, is the uuid the VM's domains are created with
	// instead of Spec.UUID: the VM of an incoming migration to the same
	// host runs under a temporary uuid (its actor, record and /vm path),
	// while its domain already carries the VM's real uuid, which it keeps
	// once the VM takes that uuid back.
	DomainUUID string
	// DeviceSupervisor supervises the device actors; nil means
	// supervisors.New().
	DeviceSupervisor actor.SupervisorStrategy
	// GuestSupervisor supervises the guest actor; nil means
	// supervisors.New(supervisors.WithFamily("guest")).
	GuestSupervisor actor.SupervisorStrategy
	// GuestOptions configure the guest actor (its quota and rate limit).
	GuestOptions []guest.Option
	// DeviceModels starts and adopts the device models (QEMU) of HVM
	// domains: a start or resume runs one after plugging the devices and
	// before the unpause, the teardown stops it, pause and unpause stop and
	// continue it, and one that ends by itself crashes the domain (on_crash
	// applies). Nil means no device model (PV guests, and the simulated
	// host's default).
	DeviceModels devicemodel.Launcher
	// EmuManager, if set, is the helper that suspend and resume run to
	// save and restore the domain (emu.go); nil saves and restores in the
	// daemon.
	EmuManager *EmuManager
	// Xenguest, if set, is the domain builder that the build step of a
	// start (and of a reboot's start) runs instead of calling the
	// hypervisor's Build in the daemon (xenguest.go); nil builds in the
	// daemon.
	Xenguest *Xenguest
	// VGPUs starts and adopts the emulators (DEMU) of the vGPUs of HVM
	// domains (vgpu.go): one per vGPU, started before the device model;
	// the teardown stops them after it; suspend saves their state into the
	// image and resume restores it; one that ends by itself crashes the
	// domain. Nil refuses to create a domain for a VM with vGPUs
	// (ErrNotImplemented).
	VGPUs vgpu.Launcher
	// PVSSwitch is the switch where the OpenFlow rules of VIFs with PVS
	// settings go (pvs.go): installed once the VIF's port is up, removed
	// with it. Nil refuses to plug such a VIF (ErrNotImplemented).
	PVSSwitch ovs.FlowSwitch

	// dms holds the running device model, shared by the incarnations of
	// the actor.
	dms *dmSlot
	// vgpus holds the running vGPU emulators, shared likewise.
	vgpus *vgpuSlot

	// wrapGuestStore, when set (WrapGuestStore), wraps what the guest actor
	// reads through.
	wrapGuestStore func(guest.Store) guest.Store
	// onReceive, if set, sees every message first (OnReceive: fault injection).
	onReceive func(msg any)
	// onPriorWait, if set, is called when the actor waits for a previous
	// incarnation's operations (OnPriorWait: tests).
	onPriorWait func()
	// HostEvents means that the host routes the hypervisor's domain
	// events to this actor as CheckState, only when its domain changed:
	// the actor does not subscribe to Hypervisor.Events itself.
	HostEvents bool
	// DaemonFaults, if set, returns the host daemons given up on that the
	// VM of spec depends on, for its status (VMStatus.DaemonFaults). It is
	// called in the actor and must return at once.
	DaemonFaults func(spec Spec) []DaemonFault
	// OnMigrated, if set, is called in the actor once a MigrateVM moved
	// the VM to another host: the host forgets it. It must return at once.
	OnMigrated func(uuid string)
	// OnCreate, if set, is called with each domain an operation creates,
	// on the operation's goroutine, right after the hypervisor made it and
	// before any of its xenstore trees is written: the host notes the
	// domains it manages. It must return at once.
	OnCreate func(hypervisor.DomID)
}

func (c *Config) defaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.AckTimeout, DefaultAckTimeout}, {&c.ShutdownTimeout, DefaultShutdownTimeout},
		{&c.HotplugTimeout, DefaultHotplugTimeout}, {&c.UnplugTimeout, DefaultUnplugTimeout},
		{&c.CleanupTimeout, DefaultCleanupTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if c.SuspendTimeout <= 0 {
		c.SuspendTimeout = DefaultSuspendTimeout
	}
	if c.CrashLoopMax <= 0 {
		c.CrashLoopMax = DefaultCrashLoopMax
	}
	if c.CrashLoopWindow <= 0 {
		c.CrashLoopWindow = DefaultCrashLoopWindow
	}
}

// Name is the spawn name of the VM actor of uuid: "vm/<uuid>".
func Name(uuid string) string { return "vm/" + uuid }

// ObjectID is the id the VM is announced under in the update stream.
func ObjectID(uuid string) string { return "vm/" + uuid }

// Props returns the props of the VM actor of cfg.Spec. Its children, the
// device actors vbd/<devid> and vif/<devid>, are supervised by
// cfg.DeviceSupervisor, and its guest actor "guest" by cfg.GuestSupervisor.
func Props(cfg Config) *actor.Props {
	cfg.defaults()
	strategy := childSupervisor{devices: cfg.DeviceSupervisor, guest: cfg.GuestSupervisor}
	if strategy.devices == nil {
		strategy.devices = supervisors.New()
	}
	if strategy.guest == nil {
		strategy.guest = supervisors.New(supervisors.WithFamily(guestName))
	}
	if cfg.Journal == nil {
		cfg.Journal = NewJournal(Record{Spec: cfg.Spec, DomID: cfg.AdoptDomID}, nil)
	}
	cfg.dms = &dmSlot{}
	cfg.vgpus = &vgpuSlot{}
	cfg.Hypervisor = hvtrace.Wrap(cfg.Hypervisor) // spans for the calls a traced operation makes
	var incarnations atomic.Int64
	return actor.PropsFromProducer(func() actor.Actor {
		c := cfg
		rec := c.Journal.Record()
		c.Spec, c.AdoptDomID = rec.Spec, rec.DomID
		if incarnations.Add(1) > 1 {
			c.Strays = nil
		}
		return &vmActor{cfg: c}
	}, actor.WithSupervisor(strategy), actor.WithMailbox(actor.Unbounded(mailboxBacklog)))
}

// endIncarnation closes st.ended once.
func (a *vmActor) endIncarnation() {
	if a.st.ended != nil {
		close(a.st.ended)
		a.st.ended = nil
	}
}

// vmActor runs the operations of one VM.
type vmActor struct {
	cfg Config
	st  state
}

// Receive dispatches on the message type.
func (a *vmActor) Receive(ctx actor.Context) {
	if a.cfg.onReceive != nil {
		a.cfg.onReceive(ctx.Message())
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.st.ended = make(chan struct{})
		a.handleStarted(ctx)
	case *actor.Stopping:
		a.endIncarnation()
		a.st.closing = true
		a.stopWatcher()
		a.handleStopping(ctx)
		// The device model runs on with its domain, for the actor that
		// adopts it next.
		a.cfg.dms.release()
		a.cfg.vgpus.release()
	case *actor.Restarting:
		a.endIncarnation()
		a.st.closing = true
		a.stopWatcher()
		a.handleStopping(ctx)
	case *actor.Terminated:
		a.handleTerminated(ctx, msg)
	case *priorOpsEnded:
		a.handlePriorOpsEnded(ctx, msg)
	case *DestroyStrays:
		a.handleDestroyStrays(ctx, msg)
	case *CheckState:
		a.handleCheckState(ctx, msg)
	case *StartVM:
		a.handleStart(ctx, msg)
	case *UnpauseVM:
		a.enqueue(ctx, "VM.unpause", msg)
	case *PauseVM:
		a.enqueue(ctx, "VM.pause", msg)
	case *ShutdownVM:
		a.handleShutdown(ctx, msg)
	case *RebootVM:
		a.handleReboot(ctx, msg)
	case *DestroyVM:
		a.enqueue(ctx, "VM.destroy", msg)
	case *SuspendVM:
		a.enqueue(ctx, kindSuspend, msg)
	case *ResumeVM:
		a.enqueue(ctx, kindResume, msg)
	case *MigrateVM:
		a.enqueue(ctx, kindMigrate, msg)
	case *ReceiveVM:
		a.enqueue(ctx, kindReceive, msg)
	case *PlugVBD:
		vbd := msg.VBD
		a.handleHotplug(ctx, &hotplugOp{class: hotplug.ClassVBD, devid: vbd.DevID, vbd: &vbd, plug: true})
	case *UnplugVBD:
		a.handleHotplug(ctx, &hotplugOp{class: hotplug.ClassVBD, devid: msg.DevID, force: msg.Force})
	case *PlugVIF:
		vif := msg.VIF
		a.handleHotplug(ctx, &hotplugOp{class: hotplug.ClassVIF, devid: vif.DevID, vif: &vif, plug: true})
	case *UnplugVIF:
		a.handleHotplug(ctx, &hotplugOp{class: hotplug.ClassVIF, devid: msg.DevID, force: msg.Force})
	case *SetMemoryTarget:
		a.enqueue(ctx, kindSetMemoryTarget, msg)
	case *SetVCPUs:
		a.enqueue(ctx, kindSetVCPUs, msg)
	case *StatVM:
		a.handleStat(ctx)
	case *guest.MetricsChanged:
		a.handleGuestMetrics(ctx, msg)
	case *domainCreated:
		a.handleDomainCreated(ctx, msg)
	case *domainGone:
		a.handleDomainGone(ctx, msg)
	case *opDone:
		a.handleOpDone(ctx, msg)
	case *opCanceled:
		a.handleOpCanceled(ctx, msg)
	case *dmExited:
		a.handleDMExited(ctx, msg)
	case *vgpuExited:
		a.handleVGPUExited(ctx, msg)
	}
}
