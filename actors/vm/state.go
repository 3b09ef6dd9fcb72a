package vm

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/opentracing/opentracing-go"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// operation is one queued or running command.
type operation struct {
	kind   string // the task kind, e.g. "VM.start"
	taskID string
	msg    any
	ctx    context.Context
	cancel context.CancelFunc
	// internal operations (check state) have no task.
	internal bool
	// trace is the span context the request carried, if any.
	trace opentracing.SpanContext
	// began is when the operation was launched (zero while queued).
	began time.Time
}

// state is what the VM actor knows of its VM.
type state struct {
	domid     hypervisor.DomID
	hasDomain bool
	queue     []*operation
	running   *operation
	// devices are the device actors by deviceName, spawned once at start
	// and never changed after, so operations may read the map.
	devices map[string]*actor.PID
	// stopEvents ends the goroutine that turns hypervisor events into
	// CheckState.
	stopEvents context.CancelFunc
	// crashes are the times of the crashes that were restarted, for the
	// crash-loop rule; lastErr and crashLoop are reported by StatVM.
	crashes   []time.Time
	lastErr   error
	crashLoop bool
	// power is the power state the last check saw, if powerSeen.
	power     PowerState
	powerSeen bool

	// closing is set once the actor stops or restarts: no child is
	// spawned any more.
	closing bool
	// gone is the domain whose teardown began, if goneSet: no guest actor
	// reads it.
	gone    hypervisor.DomID
	goneSet bool
	// guest is the guest child reading domain guestDomID; guestStopping is
	// set once it was told to stop. guestGaveUp is set when its supervisor
	// gave up on it while it read guestGaveUpDom: none is spawned again for
	// that domain.
	guest          *actor.PID
	guestDomID     hypervisor.DomID
	guestStopping  bool
	guestGaveUp    bool
	guestGaveUpDom hypervisor.DomID
	// guestMetrics are the guest child's latest metrics; nil without a
	// domain or before a report.
	guestMetrics *guest.GuestMetrics
	// suspendImage is the image file of a Suspended VM (no domain).
	suspendImage string
	// priorWait is set while a restarted actor waits for the operations
	// of its previous incarnation to end: nothing runs meanwhile.
	priorWait *priorOpsEnded
	// ended is closed when this incarnation stops or restarts: the device
	// actors its operations talk to are stopped with it.
	ended chan struct{}
}

// powerState derives a power state from the hypervisor's view of the domain.
func powerState(info hypervisor.DomainInfo) PowerState {
	switch {
	case info.Shutdown || info.Dying:
		return Shutdown
	case info.Paused:
		return Paused
	}
	return Running
}
