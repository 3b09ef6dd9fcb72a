package hvsim

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// Create implements hypervisor.Domains. The new domain is paused, holds
// DomainOverheadKiB of host memory and has the configured dirty rate.
func (s *Sim) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("create domain: %w", err)
	}
	u, err := hypervisor.ParseUUID(cfg.UUID)
	if err != nil {
		return 0, fmt.Errorf("create domain: %w", err)
	}
	if !cfg.Type.Valid() {
		return 0, fmt.Errorf("create domain %s: %w", cfg.UUID, invalid("unknown type %s", cfg.Type))
	}
	if cfg.MaxVCPUs < 1 || cfg.MaxVCPUs > hypervisor.MaxVCPUs {
		return 0, fmt.Errorf("create domain %s: %w", cfg.UUID, invalid("%d vCPUs, want 1 to %d", cfg.MaxVCPUs, hypervisor.MaxVCPUs))
	}
	s.mu.Lock()
	id, err := s.allocID()
	if err == nil {
		err = s.reserve(s.cfg.DomainOverheadKiB)
	}
	if err != nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("create domain %s: %w", cfg.UUID, err)
	}
	h := fnv.New64a()
	h.Write(u[:])
	s.doms[id] = &domain{
		id: id, uuid: u, typ: cfg.Type, vcpus: cfg.MaxVCPUs, maxMemKiB: cfg.MaxMemKiB,
		paused: true, since: s.cfg.Clock(), rate: s.cfg.DirtyPagesPerSecond, rng: h.Sum64(),
	}
	s.mu.Unlock()
	s.ev.notify(id)
	return id, nil
}

// SetMaxMem implements hypervisor.Domains.
func (s *Sim) SetMaxMem(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return s.do(ctx, "set max memory", id, func(d *domain) (bool, error) {
		if d.dying {
			return false, invalid("is dying")
		}
		d.maxMemKiB = kib
		return false, nil
	})
}

// SetMaxVCPUs implements hypervisor.Domains.
func (s *Sim) SetMaxVCPUs(ctx context.Context, id hypervisor.DomID, n int) error {
	return s.do(ctx, "set max vcpus", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		if n < 1 || n > hypervisor.MaxVCPUs {
			return false, invalid("%d vCPUs, want 1 to %d", n, hypervisor.MaxVCPUs)
		}
		if d.built {
			return false, invalid("is already built")
		}
		d.vcpus = n
		return false, nil
	})
}

// Pause implements hypervisor.Domains.
func (s *Sim) Pause(ctx context.Context, id hypervisor.DomID) error {
	return s.do(ctx, "pause", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		changed := !d.paused
		d.paused = true
		return changed, nil
	})
}

// Unpause implements hypervisor.Domains. A shut-down domain may be unpaused
// but does not run.
func (s *Sim) Unpause(ctx context.Context, id hypervisor.DomID) error {
	return s.do(ctx, "unpause", id, func(d *domain) (bool, error) {
		if err := d.checkBuilt(); err != nil {
			return false, err
		}
		changed := d.paused
		d.paused = false
		return changed, nil
	})
}

// Shutdown implements hypervisor.Domains.
func (s *Sim) Shutdown(ctx context.Context, id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	return s.do(ctx, "shutdown", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		return d.shutDown(reason)
	})
}

// shutDown marks the domain shut down; the first reason sticks, as in Xen.
func (d *domain) shutDown(reason hypervisor.ShutdownReason) (bool, error) {
	if !reason.Valid() {
		return false, invalid("unknown %s", reason)
	}
	if d.shutdown {
		return false, nil
	}
	d.shutdown, d.reason = true, reason
	return true, nil
}

// Destroy implements hypervisor.Domains. A domain whose memory dom0 holds
// (Hold) stays Dying until the last hold is released; otherwise it goes at
// once. Destroying a dying domain does nothing.
func (s *Sim) Destroy(ctx context.Context, id hypervisor.DomID) error {
	return s.do(ctx, "destroy", id, func(d *domain) (bool, error) {
		if d.control {
			return false, invalid("not allowed on the control domain")
		}
		if d.dying {
			return false, nil
		}
		d.dying = true
		if d.holds == 0 {
			s.remove(d)
		}
		return true, nil
	})
}

// remove drops a dying domain and frees its memory; s.mu is held.
func (s *Sim) remove(d *domain) {
	delete(s.doms, d.id)
	s.usedKiB -= s.cfg.DomainOverheadKiB + d.memKiB
	d.pages, d.dirty = nil, nil
}

// Hold simulates a dom0 backend mapping the domain's memory (grant or
// foreign mappings): while held, a destroyed domain stays Dying. release
// drops the hold; calling it again does nothing.
func (s *Sim) Hold(id hypervisor.DomID) (release func(), err error) {
	var held *domain
	err = s.do(context.Background(), "hold", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		d.holds++
		held = d
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(held) }) }, nil
}

func (s *Sim) release(d *domain) {
	s.mu.Lock()
	d.holds--
	gone := d.dying && d.holds == 0 && s.doms[d.id] == d
	if gone {
		s.remove(d)
	}
	s.mu.Unlock()
	if gone {
		s.ev.notify(d.id)
	}
}

// DomainInfo implements hypervisor.Domains.
func (s *Sim) DomainInfo(ctx context.Context, id hypervisor.DomID) (hypervisor.DomainInfo, error) {
	var info hypervisor.DomainInfo
	err := s.do(ctx, "domain info", id, func(d *domain) (bool, error) {
		info = d.info()
		return false, nil
	})
	return info, err
}

// ListDomains implements hypervisor.Domains.
func (s *Sim) ListDomains(ctx context.Context) ([]hypervisor.DomainInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	s.mu.Lock()
	out := make([]hypervisor.DomainInfo, 0, len(s.doms))
	for _, d := range s.doms {
		s.settle(d)
		out = append(out, d.info())
	}
	s.mu.Unlock()
	// Sorted outside the lock: every other call waits for it.
	slices.SortFunc(out, func(a, b hypervisor.DomainInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
