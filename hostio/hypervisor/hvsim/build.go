package hvsim

import (
	"context"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// The simulated xenguest's layout: the xenstore and console rings are the
// last two pages of the domain's memory, and each ring's event channel is
// a fresh unbound port of the new domain.
const (
	storePort   = 1
	consolePort = 2
	minBuildKiB = 2 * hypervisor.PageSize / 1024
	kibPerPage  = hypervisor.PageSize / 1024
)

// Build implements hypervisor.Builder. It reads no files: the kernel or
// firmware path only has to be set. The domain's MemoryKiB is accounted
// against the host; its pages stay unallocated (zero) until written.
func (s *Sim) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := s.do(ctx, "build", id, func(d *domain) (bool, error) {
		if err := d.check(); err != nil {
			return false, err
		}
		switch {
		case d.built:
			return false, invalid("is already built")
		case d.shutdown:
			return false, invalid("is shut down")
		case cfg.Kernel == "" && cfg.Firmware == "":
			return false, invalid("neither kernel nor firmware given")
		case cfg.MemoryKiB < minBuildKiB || cfg.MemoryKiB%kibPerPage != 0:
			return false, invalid("memory of %d KiB is not a whole number of pages, at least %d KiB", cfg.MemoryKiB, minBuildKiB)
		case cfg.MemoryKiB > d.maxMemKiB:
			return false, invalid("memory %d KiB exceeds max %d KiB", cfg.MemoryKiB, d.maxMemKiB)
		case cfg.TargetKiB > cfg.MemoryKiB:
			return false, invalid("target %d KiB exceeds memory %d KiB", cfg.TargetKiB, cfg.MemoryKiB)
		}
		if err := s.reserve(cfg.MemoryKiB); err != nil {
			return false, err
		}
		pages := cfg.MemoryKiB / kibPerPage
		d.setBuilt(cfg.MemoryKiB, orDefault(cfg.TargetKiB, cfg.MemoryKiB), hypervisor.BuildResult{
			StoreGFN: pages - 1, StorePort: storePort, ConsoleGFN: pages - 2, ConsolePort: consolePort,
		})
		res = d.ring
		return false, nil
	})
	return res, err
}

// setBuilt records a build or restore of memKiB; the memory is reserved.
func (d *domain) setBuilt(memKiB, targetKiB uint64, ring hypervisor.BuildResult) {
	d.built = true
	d.memKiB = memKiB
	d.targetKiB = targetKiB
	d.p2mPages = memKiB / kibPerPage
	d.ring = ring
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

// SetMemoryTarget implements hypervisor.Memory. The simulator records the
// target; the memory a guest holds does not follow it.
func (s *Sim) SetMemoryTarget(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return s.do(ctx, "set memory target", id, func(d *domain) (bool, error) {
		if d.dying {
			return false, invalid("is dying")
		}
		if kib > d.maxMemKiB {
			return false, invalid("target %d KiB exceeds max %d KiB", kib, d.maxMemKiB)
		}
		d.targetKiB = kib
		return false, nil
	})
}
