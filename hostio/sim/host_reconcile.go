package sim

import (
	"context"
	"strings"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// changed marks a domain for another look (a hypervisor change, or the
// domain introduced to xenstore) and wakes the host's loop.
func (h *Host) changed(id hypervisor.DomID) {
	h.dirtyMu.Lock()
	h.dirty[id] = true
	h.dirtyMu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *Host) run(intro *xenstore.Watch) {
	defer h.wg.Done()
	for {
		select {
		case <-h.done:
			return
		case ev, ok := <-intro.Events():
			if !ok {
				return
			}
			if d, ok := xenstore.ParseDomid(strings.TrimPrefix(ev.Path, xenstore.WatchIntroduceDomain+"/")); ok {
				h.changed(hypervisor.DomID(d))
			}
			continue
		case <-h.wake:
		}
		h.dirtyMu.Lock()
		ids := make([]hypervisor.DomID, 0, len(h.dirty))
		for id := range h.dirty {
			ids = append(ids, id)
		}
		clear(h.dirty)
		h.dirtyMu.Unlock()
		for _, id := range ids {
			h.reconcile(id)
		}
	}
}

// reconcile brings one domain's guest kernel and xenstore in line with the
// hypervisor: a kernel runs while the domain is introduced, built and not
// shut down, frozen while paused; a shut-down domain's kernel stops and
// @releaseDomain fires; a destroyed domain is released from xenstore.
func (h *Host) reconcile(id hypervisor.DomID) {
	if id == hypervisor.Dom0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := h.hv.DomainInfo(ctx, id)
	switch {
	case errdefs.IsNotFound(err):
		h.stopGuest(id)
		h.mu.Lock()
		_, known := h.images[id]
		delete(h.images, id)
		delete(h.gone, id)
		delete(h.restored, id)
		delete(h.stores, id)
		delete(h.agentUIDs, id)
		h.mu.Unlock()
		if known {
			h.xs.DomainDestroyed(uint32(id))
		}
	case err != nil:
		h.log.Warn("simulated host could not look at a domain", "domid", uint32(id), "err", err)
	default:
		h.reconcileDomain(info)
	}
}

func (h *Host) reconcileDomain(info hypervisor.DomainInfo) {
	id := info.ID
	h.mu.Lock()
	g, image, built := h.guests[id], h.images[id], h.images[id] != ""
	_, wasGone := h.gone[id]
	h.mu.Unlock()
	switch {
	case info.Shutdown || info.Dying:
		if g != nil {
			h.stopGuest(id)
		}
		if !wasGone {
			h.mu.Lock()
			h.gone[id] = true
			h.mu.Unlock()
			h.xs.DomainShutdown(uint32(id))
		}
	case g != nil:
		g.setPaused(info.Paused)
	case built && !info.Paused && h.xs.IsIntroduced(uint32(id)):
		h.startGuest(id, image)
	}
}

func (h *Host) startGuest(id hypervisor.DomID, image string) {
	xs, err := h.connect(uint32(id))
	if err != nil {
		h.log.Warn("simulated guest could not connect to xenstore", "domid", uint32(id), "err", err)
		return
	}
	cons := newGuestConsole(h.hv, id, h.log)
	hooks := guestHooks{print: cons.print, shutdown: func(reason string) {
		cons.print(shutdownLine(reason))
		r := map[string]hypervisor.ShutdownReason{"poweroff": hypervisor.ShutdownPoweroff,
			"reboot": hypervisor.ShutdownReboot, "suspend": hypervisor.ShutdownSuspend,
			"crash": hypervisor.ShutdownCrash}[reason]
		if err := h.hv.GuestShutdown(id, r); err != nil {
			h.log.Debug("simulated guest shutdown failed", "domid", uint32(id), "err", err)
		}
	}}
	p := h.profile(image)
	h.mu.Lock()
	resumed, agentUID, gfn := h.restored[id], h.agentUIDs[id], h.stores[id]
	h.mu.Unlock()
	// The agent's memory is the kernel note's: it stays in the domain's
	// memory across a save and restore.
	hooks.remember = func(uid string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := writeNote(ctx, h.hv, id, gfn, image, uid); err != nil {
			h.log.Debug("simulated guest agent could not remember its domain id", "domid", uint32(id), "err", err)
		}
	}
	if p.PVDrivers {
		cons.print(bootBanner(p, uint32(id), resumed))
	}
	g, err := startGuest(uint32(id), p, xs, hooks, h.faults, h.log, agentState{resumed: resumed, lastUID: agentUID})
	if err != nil {
		xs.Close()
		h.log.Warn("simulated guest kernel did not start", "domid", uint32(id), "err", err)
		return
	}
	h.mu.Lock()
	h.guests[id] = g
	h.mu.Unlock()
}

func (h *Host) stopGuest(id hypervisor.DomID) {
	h.mu.Lock()
	g := h.guests[id]
	delete(h.guests, id)
	h.mu.Unlock()
	if g != nil {
		g.stop()
	}
}

// Guests returns how many guest kernels run.
func (h *Host) Guests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.guests)
}
