//go:build xen && linux && cgo

package xen

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Build implements hypervisor.Builder for PV and PVH guests, as libxl 4.17
// does: the xenstore and console event channels are allocated first, then
// libxenguest's domain builder loads the kernel and ramdisk, populates
// MemoryKiB, and seeds the grant entries of both rings. StoreGFN and
// ConsoleGFN are what xenstored's INTRODUCE and xenconsoled map: the
// rings' machine frames for PV, their pfns (HVM params) for PVH. A PVH
// guest boots straight into its kernel's PVH entry point, without ACPI
// tables; HVM guests are errdefs.ErrNotImplemented (HVM domains are
// refused at create already).
func (h *Hypervisor) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	const op = "build"
	var none hypervisor.BuildResult
	r, err := h.lookupGuest(ctx, op, id)
	if err != nil {
		return none, err
	}
	info := h.info(r)
	const kibPerPage = hypervisor.PageSize / 1024
	switch {
	case cfg.MemoryKiB == 0 || cfg.MemoryKiB%kibPerPage != 0:
		return none, invalid(op, id, "memory of %d KiB is not a positive whole number of pages", cfg.MemoryKiB)
	case cfg.TargetKiB > cfg.MemoryKiB:
		return none, invalid(op, id, "target %d KiB exceeds memory %d KiB", cfg.TargetKiB, cfg.MemoryKiB)
	case cfg.Kernel == "":
		return none, invalid(op, id, "no kernel")
	case h.built(r, h.state(id, r.handle)):
		return none, invalid(op, id, "is already built")
	case r.flags&dominfShutdown != 0:
		return none, invalid(op, id, "is shut down")
	}
	if info.Type == hypervisor.DomainTypeHVM {
		return none, fmt.Errorf("%s: domain %d: %s guests are not built by the Xen backend yet: %w", op, id,
			info.Type, errdefs.ErrNotImplemented)
	}
	_, free, _, err := h.xc.physinfo()
	if err != nil {
		return none, domErr(op+": physinfo", id, err)
	}
	if free *= kibPerPage; cfg.MemoryKiB > free {
		return none, fmt.Errorf("%s: domain %d: needs %d KiB, the host has %d KiB free: %w", op, id,
			cfg.MemoryKiB, free, errdefs.ErrResourceExhausted)
	}
	if cfg.MemoryKiB > info.MaxMemKiB {
		return none, invalid(op, id, "memory %d KiB exceeds max %d KiB", cfg.MemoryKiB, info.MaxMemKiB)
	}
	for _, f := range []string{cfg.Kernel, cfg.Ramdisk} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return none, fmt.Errorf("%s: domain %d: %w: %w", op, id, err, errdefs.ErrInvalid)
		}
	}

	storePort, err := h.xc.allocUnbound(uint32(id), uint32(cfg.StoreDomid))
	if err != nil {
		return none, domErr(op+": xenstore event channel", id, err)
	}
	consolePort, err := h.xc.allocUnbound(uint32(id), uint32(cfg.ConsoleDomid))
	if err != nil {
		return none, domErr(op+": console event channel", id, err)
	}
	b := &buildArgs{domid: uint32(id), kernel: cfg.Kernel, ramdisk: cfg.Ramdisk, cmdline: cfg.Cmdline,
		memKiB: cfg.MemoryKiB, storeDomid: uint32(cfg.StoreDomid), consoleDomid: uint32(cfg.ConsoleDomid),
		storePort: storePort, consolePort: consolePort, vcpus: info.VCPUs, pvh: info.Type == hypervisor.DomainTypePVH}
	start := time.Now()
	if err := build(b); err != nil {
		return none, fmt.Errorf("%s: domain %d: %w", op, id, err)
	}
	target := cfg.TargetKiB
	if target == 0 {
		target = cfg.MemoryKiB
	}
	h.mu.Lock()
	s := h.doms[id]
	if s == nil || s.handle != r.handle {
		s = &domState{handle: r.handle, typ: info.Type, vcpus: info.VCPUs}
		h.doms[id] = s
	}
	s.built, s.targetKiB = true, target
	h.mu.Unlock()
	h.log.Debug("domain built", "domid", id, "kernel", cfg.Kernel, "memory_kib", cfg.MemoryKiB,
		"took", time.Since(start))
	return hypervisor.BuildResult{StoreGFN: b.storeGFN, StorePort: storePort, ConsoleGFN: b.consoleGFN,
		ConsolePort: consolePort}, nil
}
