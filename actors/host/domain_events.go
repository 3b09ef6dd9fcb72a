package host

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The host routes the hypervisor's domain events: it subscribes once to
// Hypervisor.Events, lists the domains on each (coalesced) signal, one
// listing at a time, and sends a CheckState only to the VMs whose domain
// changed since the last listing. A VM actor subscribing by itself would
// make every domain event a check of every VM.

// listTimeout bounds each listing of the domains.
const listTimeout = 10 * time.Second

// A listing asked for while one was in flight waits listGapFactor times as
// long as that one took (listing and routing), at most maxListGap: with
// many domains and a steady stream of signals, listing then takes at most
// about a quarter of a processor, and more signals coalesce into each
// listing. With few domains the wait is negligible.
const (
	listGapFactor = 3
	maxListGap    = 100 * time.Millisecond
)

// whyDomainEvent is the Why of the CheckState a domain event routes.
const whyDomainEvent = "domain event"

// domState is what the host compares of a domain between two listings.
type domState struct {
	uuid     string
	paused   bool
	shutdown bool
	reason   hypervisor.ShutdownReason
	dying    bool
}

func stateOf(d hypervisor.DomainInfo) domState {
	s := domState{uuid: d.UUID, paused: d.Paused, shutdown: d.Shutdown, dying: d.Dying}
	if d.Shutdown {
		s.reason = d.ShutdownReason
	}
	return s
}

// private messages of the routing
type (
	domainEvent   struct{}
	domainsListed struct {
		doms []hypervisor.DomainInfo
		err  error
		took time.Duration
	}
)

// subscribeDomainEvents turns the hypervisor's signals into domainEvent
// messages until ctx ends, and lists the domains once now.
func (h *hostActor) subscribeDomainEvents(ctx actor.Context, sctx context.Context) {
	h.seen = make(map[hypervisor.DomID]domState)
	h.spare = make(map[hypervisor.DomID]domState)
	h.unseen = make(map[hypervisor.DomID]string)
	evs, err := h.cfg.Hypervisor.Events(sctx)
	if err != nil {
		panic(fmt.Errorf("host: domain events: %w: %w", errdefs.ErrUnavailable, err))
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	go func() {
		for range evs {
			system.Root.Send(self, &domainEvent{})
		}
	}()
	h.listDomains(ctx, 0)
}

// handleDomainEvent lists the domains, or asks for another listing once the
// one in flight is back: the signals that come meanwhile coalesce.
func (h *hostActor) handleDomainEvent(ctx actor.Context) {
	if h.listing {
		h.relist = true
		return
	}
	h.listDomains(ctx, 0)
}

// listDomains lists the domains off the mailbox, after delay; the answer
// comes back as a domainsListed.
func (h *hostActor) listDomains(ctx actor.Context, delay time.Duration) {
	h.listing, h.relist = true, false
	system, self, hv := ctx.ActorSystem(), ctx.Self(), h.cfg.Hypervisor
	go func() {
		if delay > 0 {
			time.Sleep(delay)
		}
		lctx, cancel := context.WithTimeout(context.Background(), listTimeout)
		defer cancel()
		t0 := time.Now()
		doms, err := hv.ListDomains(lctx)
		system.Root.Send(self, &domainsListed{doms: doms, err: err, took: time.Since(t0)})
	}()
}

// handleDomainsListed routes the changes of a listing, and lists again if
// a signal came meanwhile. A failed listing changes nothing: the next one
// is compared with the last that succeeded.
func (h *hostActor) handleDomainsListed(ctx actor.Context, msg *domainsListed) {
	h.listing = false
	t0 := time.Now()
	if msg.err != nil {
		h.cfg.Logger.Error("listing the domains", "err", msg.err)
	} else {
		h.routeDomains(ctx, msg.doms)
	}
	if h.relist {
		h.listDomains(ctx, min(listGapFactor*(msg.took+time.Since(t0)), maxListGap))
	}
}

// routeDomains sends a CheckState to the VM of each domain whose state
// differs from the last listing: a domain listed for the first time
// compares as changed, and so does one that vanished.
func (h *hostActor) routeDomains(ctx actor.Context, doms []hypervisor.DomainInfo) {
	now := h.spare
	clear(now)
	for _, d := range doms {
		if d.ID == 0 {
			continue
		}
		st := stateOf(d)
		now[d.ID] = st
		if old, ok := h.seen[d.ID]; !ok || old != st {
			h.domainChanged(ctx, d.ID, st.uuid)
		}
	}
	for id, old := range h.seen {
		if _, ok := now[id]; !ok {
			h.domainChanged(ctx, id, old.uuid)
		}
	}
	// A VM's domain the host learned of before any listing saw it: if
	// this listing does not hold it either, it may have come and gone in
	// between.
	for id, uuid := range h.unseen {
		if _, ok := now[id]; !ok {
			h.checkVM(ctx, uuid)
		}
	}
	clear(h.unseen)
	h.seen, h.spare = now, h.seen
}

// domainChanged checks the VM that has domain id, and the VM of the
// domain's uuid if that is another.
func (h *hostActor) domainChanged(ctx actor.Context, id hypervisor.DomID, uuid string) {
	owner, ok := h.byDom[uint32(id)]
	if ok {
		h.checkVM(ctx, owner)
	}
	if !ok || owner != uuid {
		h.checkVM(ctx, uuid)
	}
}

// checkVM sends VM uuid's actor a CheckState, if there is such a VM.
func (h *hostActor) checkVM(ctx actor.Context, uuid string) {
	if e := h.vms[uuid]; e != nil && e.pid != nil {
		ctx.Send(e.pid, &vm.CheckState{Why: whyDomainEvent})
	}
}

// domainLearned notes that VM uuid has domain id, which no listing may
// have seen yet.
func (h *hostActor) domainLearned(id uint32, uuid string) {
	if _, ok := h.seen[hypervisor.DomID(id)]; !ok {
		h.unseen[hypervisor.DomID(id)] = uuid
	}
}
