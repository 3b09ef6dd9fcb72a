package vm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/watches"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// guestName is the spawn name of the guest actor under its VM actor.
const guestName = "guest"

// guestOnly are the check-state reasons of the areas only the guest
// writes: they refresh the guest's metrics and never queue a check, so a
// guest rewriting data/ in a loop costs no hypervisor queries.
var guestOnly = []string{watches.WhyData, watches.WhyAttr, watches.WhyMemory, watches.WhyFeature}

// guestRefresh are the reasons that refresh the guest's metrics: the
// guest-only ones, control/ (feature-* lives there), and the ones that say
// events may have been missed.
var guestRefresh = append([]string{watches.WhyControl, watches.WhyWatched, watches.WhyReconnected}, guestOnly...)

// classifyWhy returns whether a check state for why refreshes the guest's
// metrics and whether it queues a check: every reason but the guest-only
// ones does (and so does an empty why).
func classifyWhy(why string) (refresh, check bool) {
	if why == "" {
		return false, true
	}
	for r := range strings.SplitSeq(why, ",") {
		r = strings.TrimSpace(r)
		if slices.Contains(guestRefresh, r) {
			refresh = true
		}
		if !slices.Contains(guestOnly, r) {
			check = true
		}
	}
	return refresh, check
}

// guestWanted reports whether the VM has a domain for a guest actor to
// read: it has one, and no teardown of it began.
func (a *vmActor) guestWanted() (hypervisor.DomID, bool) {
	if !a.st.hasDomain || a.st.closing || (a.st.goneSet && a.st.gone == a.st.domid) {
		return 0, false
	}
	if a.st.guestGaveUp && a.st.guestGaveUpDom == a.st.domid {
		return 0, false
	}
	return a.st.domid, true
}

// syncGuest makes the guest child match the VM's domain: it stops a child
// that reads a domain that went (dropping its metrics) and spawns one for
// the domain the VM has. A new child is spawned only once the old one
// terminated, as both are named "guest".
func (a *vmActor) syncGuest(ctx actor.Context) {
	domid, want := a.guestWanted()
	if a.st.guest != nil {
		if !a.st.guestStopping && (!want || a.st.guestDomID != domid) {
			ctx.Stop(a.st.guest)
			a.st.guestStopping = true
			a.dropGuestMetrics(ctx)
		}
		return // handleTerminated syncs again
	}
	if !want {
		return
	}
	cfg := guest.Config{XS: a.cfg.Xenstore, DomID: uint32(domid), VMUUID: a.cfg.Spec.UUID, Owner: ctx.Self()}
	if a.cfg.wrapGuestStore != nil {
		cfg.XS = a.cfg.wrapGuestStore(cfg.XS)
	}
	pid, err := ctx.SpawnNamed(guest.Props(cfg, a.cfg.GuestOptions...), guestName)
	if err != nil {
		a.st.lastErr = fmt.Errorf("vm %s: spawn %s: %w", a.cfg.Spec.UUID, guestName, err)
		return
	}
	a.st.guest, a.st.guestDomID = pid, domid
}

// dropGuestMetrics forgets the guest's metrics, announcing it if there
// were some.
func (a *vmActor) dropGuestMetrics(ctx actor.Context) {
	if a.st.guestMetrics != nil {
		a.st.guestMetrics = nil
		a.announce(ctx)
	}
}

// refreshGuest asks the guest child to read the guest's reports again.
func (a *vmActor) refreshGuest(ctx actor.Context) {
	if a.st.guest != nil && !a.st.guestStopping {
		ctx.Send(a.st.guest, &guest.Refresh{})
	}
}

// handleGuestMetrics caches the metrics the guest child read and announces
// the change; a report from a child that reads another domain, or that is
// stopping, is dropped. Metrics without any report are no metrics.
func (a *vmActor) handleGuestMetrics(ctx actor.Context, msg *guest.MetricsChanged) {
	if a.st.guest == nil || a.st.guestStopping || hypervisor.DomID(msg.DomID) != a.st.guestDomID {
		return
	}
	if msg.Metrics.Equal(guest.GuestMetrics{}) {
		a.dropGuestMetrics(ctx)
		return
	}
	m := msg.Metrics
	a.st.guestMetrics = &m
	a.announce(ctx)
}

// handleTerminated notes that the guest child ended: stopped by syncGuest,
// which may now spawn the next one, or given up on by its supervisor, in
// which case no new one is spawned for the same domain.
func (a *vmActor) handleTerminated(ctx actor.Context, msg *actor.Terminated) {
	if a.st.guest == nil || !msg.Who.Equal(a.st.guest) {
		return
	}
	if !a.st.guestStopping {
		a.st.guestGaveUp, a.st.guestGaveUpDom = true, a.st.guestDomID
	}
	a.st.guest, a.st.guestStopping = nil, false
	a.syncGuest(ctx)
}

// domainGone tells the actor that an operation began to tear domain domid
// down: its guest actor stops reading it.
type domainGone struct {
	taskID string
	domid  hypervisor.DomID
}

func (a *vmActor) handleDomainGone(ctx actor.Context, msg *domainGone) {
	if a.st.running == nil || a.st.running.taskID != msg.taskID {
		return
	}
	a.st.gone, a.st.goneSet = msg.domid, true
	a.syncGuest(ctx)
}

// childSupervisor supervises the VM actor's children: the guest actor by
// the guest strategy, the device actors by the device strategy.
type childSupervisor struct {
	devices, guest actor.SupervisorStrategy
}

// HandleFailure implements actor.SupervisorStrategy.
func (s childSupervisor) HandleFailure(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason any, message any) {
	if p, ok := supervisor.(interface{ Self() *actor.PID }); ok && p.Self() != nil &&
		child.GetId() == p.Self().GetId()+"/"+guestName {
		s.guest.HandleFailure(system, supervisor, child, rs, reason, message)
		return
	}
	s.devices.HandleFailure(system, supervisor, child, rs, reason, message)
}
