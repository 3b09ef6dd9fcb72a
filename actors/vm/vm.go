package vm

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
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

	// AckTimeout bounds the wait for the guest to acknowledge a clean
	// shutdown request; ShutdownTimeout the wait for the domain to shut down
	// after it did.
	AckTimeout      time.Duration
	ShutdownTimeout time.Duration
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
	// DeviceSupervisor supervises the device actors; nil means
	// supervisors.New().
	DeviceSupervisor actor.SupervisorStrategy
	// HostEvents means that the host routes the hypervisor's domain
	// events to this actor as CheckState, only when its domain changed:
	// the actor does not subscribe to Hypervisor.Events itself.
	HostEvents bool
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
// cfg.DeviceSupervisor.
func Props(cfg Config) *actor.Props {
	cfg.defaults()
	strategy := cfg.DeviceSupervisor
	if strategy == nil {
		strategy = supervisors.New()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &vmActor{cfg: cfg} },
		actor.WithSupervisor(strategy))
}

// vmActor runs the operations of one VM.
type vmActor struct {
	cfg Config
	st  state
}

// Receive dispatches on the message type.
func (a *vmActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.handleStarted(ctx)
	case *actor.Stopping:
		a.stopWatcher()
		a.handleStopping(ctx)
	case *actor.Restarting:
		a.stopWatcher()
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
	case *domainCreated:
		a.handleDomainCreated(ctx, msg)
	case *opDone:
		a.handleOpDone(ctx, msg)
	case *opCanceled:
		a.handleOpCanceled(ctx, msg)
	}
}
