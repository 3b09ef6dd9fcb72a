package sim

import (
	"context"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// poke asks the host to look at the domains again (VIRQ_DOM_EXC, or a
// domain introduced to xenstore).
func (h *Host) poke() {
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
		case _, ok := <-intro.Events():
			if !ok {
				return
			}
		case <-h.wake:
		}
		h.reconcile()
	}
}

// reconcile brings the guest kernels and xenstore in line with the
// hypervisor: a kernel runs for every introduced domain that is built and
// not shut down, frozen while paused; a shut-down domain's kernel stops and
// @releaseDomain fires; a destroyed domain is released from xenstore.
func (h *Host) reconcile() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The domains known before listing: one built after the list was
	// taken must not look destroyed.
	h.mu.Lock()
	known := make([]hypervisor.DomID, 0, len(h.images))
	for id := range h.images {
		known = append(known, id)
	}
	h.mu.Unlock()
	infos, err := h.hv.ListDomains(ctx)
	if err != nil {
		h.log.Warn("simulated host could not list domains", "err", err)
		return
	}
	seen := make(map[hypervisor.DomID]bool, len(infos))
	for _, info := range infos {
		if info.ID == hypervisor.Dom0 {
			continue
		}
		seen[info.ID] = true
		h.reconcileDomain(info)
	}
	for _, id := range known {
		if seen[id] {
			continue
		}
		h.stopGuest(id)
		h.mu.Lock()
		delete(h.images, id)
		delete(h.gone, id)
		h.mu.Unlock()
		h.xs.DomainDestroyed(uint32(id))
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
	hooks := guestHooks{shutdown: func(reason string) {
		r := map[string]hypervisor.ShutdownReason{"poweroff": hypervisor.ShutdownPoweroff,
			"reboot": hypervisor.ShutdownReboot, "suspend": hypervisor.ShutdownSuspend,
			"crash": hypervisor.ShutdownCrash}[reason]
		if err := h.hv.GuestShutdown(id, r); err != nil {
			h.log.Debug("simulated guest shutdown failed", "domid", uint32(id), "err", err)
		}
	}}
	g, err := startGuest(uint32(id), h.profile(image), xs, hooks, h.faults, h.log)
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
