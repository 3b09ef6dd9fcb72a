//go:build xen && linux && cgo

package xen

import (
	"context"
	"fmt"
	"syscall"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// invalid is an ErrInvalid of op on domain id.
func invalid(op string, id hypervisor.DomID, format string, args ...any) error {
	return fmt.Errorf("%s: domain %d: %s: %w", op, id, fmt.Sprintf(format, args...), errdefs.ErrInvalid)
}

// Create implements hypervisor.Domains: XEN_DOMCTL_createdomain as libxl
// fills it, XEN_DOMCTL_max_vcpus, the CPUID policy, and the maximum memory
// if given. HVM guests
// are errdefs.ErrNotImplemented: this backend runs no device model.
func (h *Hypervisor) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("create domain %s: %w", cfg.UUID, err)
	}
	handle, err := hypervisor.ParseUUID(cfg.UUID)
	if err != nil {
		return 0, fmt.Errorf("create domain: %w", err)
	}
	switch {
	case cfg.Type == hypervisor.DomainTypeHVM:
		return 0, fmt.Errorf("create domain %s: HVM guests need a device model, which the Xen backend does not run yet: %w",
			cfg.UUID, errdefs.ErrNotImplemented)
	case !cfg.Type.Valid():
		return 0, fmt.Errorf("create domain %s: %s: %w", cfg.UUID, cfg.Type, errdefs.ErrInvalid)
	case cfg.MaxVCPUs < 1 || cfg.MaxVCPUs > hypervisor.MaxVCPUs:
		return 0, fmt.Errorf("create domain %s: %d vCPUs, want 1 to %d: %w", cfg.UUID, cfg.MaxVCPUs,
			hypervisor.MaxVCPUs, errdefs.ErrInvalid)
	}
	domid, err := h.xc.create(handle, cfg.Type == hypervisor.DomainTypePVH, cfg.MaxVCPUs)
	if err != nil {
		return 0, fmt.Errorf("create domain %s: %w (%w)", cfg.UUID, errnoKind(err), err)
	}
	id := hypervisor.DomID(domid)
	undo := func(err error) (hypervisor.DomID, error) {
		_ = h.xc.destroy(domid)
		h.ev.signal()
		return 0, err
	}
	if err := h.xc.maxVCPUs(domid, cfg.MaxVCPUs); err != nil {
		return undo(domErr("create: allocate the vCPUs", id, err))
	}
	if err := h.xc.applyCPUID(domid); err != nil {
		return undo(domErr("create: apply the CPUID policy", id, err))
	}
	h.mu.Lock()
	h.doms[id] = &domState{handle: handle, typ: cfg.Type, vcpus: cfg.MaxVCPUs}
	h.mu.Unlock()
	if cfg.MaxMemKiB > 0 {
		if err := h.setMaxMem(id, cfg.Type, cfg.MaxMemKiB); err != nil {
			h.forget(id)
			return undo(err)
		}
	}
	h.log.Debug("domain created", "domid", domid, "uuid", cfg.UUID, "type", cfg.Type, "vcpus", cfg.MaxVCPUs)
	h.ev.signal()
	return id, nil
}

// setMaxMem sets the limit plus libxl's slack and, for PV, the memory map.
func (h *Hypervisor) setMaxMem(id hypervisor.DomID, typ hypervisor.DomainType, kib uint64) error {
	if err := h.xc.setMaxMem(uint32(id), kib+maxmemSlackKiB); err != nil {
		return domErr("set max memory", id, err)
	}
	if typ == hypervisor.DomainTypePV {
		if err := h.xc.setMemmapLimit(uint32(id), kib); err != nil {
			return domErr("set memory map limit", id, err)
		}
	}
	return nil
}

// lookup checks ctx and returns the domain's info; an unknown domain is
// errdefs.ErrNotFound.
func (h *Hypervisor) lookup(ctx context.Context, op string, id hypervisor.DomID) (rawInfo, error) {
	if err := ctx.Err(); err != nil {
		return rawInfo{}, fmt.Errorf("%s: domain %d: %w", op, id, err)
	}
	if id >= hypervisor.DomIDFirstReserved {
		return rawInfo{}, fmt.Errorf("%s: domain %d: %w", op, id, errdefs.ErrNotFound)
	}
	list, err := h.xc.infoList(uint32(id), 1)
	if err != nil {
		return rawInfo{}, domErr(op, id, err)
	}
	if len(list) == 0 || list[0].domid != uint32(id) {
		h.forget(id)
		return rawInfo{}, fmt.Errorf("%s: domain %d: %w", op, id, errdefs.ErrNotFound)
	}
	return list[0], nil
}

// lookupGuest is lookup of a guest that is not dying (not the control
// domain).
func (h *Hypervisor) lookupGuest(ctx context.Context, op string, id hypervisor.DomID) (rawInfo, error) {
	r, err := h.lookup(ctx, op, id)
	switch {
	case err != nil:
		return r, err
	case id == hypervisor.Dom0:
		return r, invalid(op, id, "not allowed on the control domain")
	case r.flags&dominfDying != 0:
		return r, invalid(op, id, "is dying")
	}
	return r, nil
}

// SetMaxMem implements hypervisor.Domains (xc_domain_setmaxmem plus the
// 1 MiB libxl adds; for PV also the memory map).
func (h *Hypervisor) SetMaxMem(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	r, err := h.lookupGuest(ctx, "set max memory", id)
	if err != nil {
		return err
	}
	if kib == 0 || kib%(hypervisor.PageSize/1024) != 0 {
		return invalid("set max memory", id, "%d KiB is not a positive whole number of pages", kib)
	}
	return h.setMaxMem(id, decodeInfo(r).Type, kib)
}

// SetMaxVCPUs implements hypervisor.Domains. Xen 4.17 fixes the vCPUs of
// a domain when it is created: n up to the created count is remembered and
// reported by DomainInfo (the rest stay offline), more is
// errdefs.ErrInvalid.
func (h *Hypervisor) SetMaxVCPUs(ctx context.Context, id hypervisor.DomID, n int) error {
	const op = "set max vcpus"
	r, err := h.lookupGuest(ctx, op, id)
	if err != nil {
		return err
	}
	created := 0
	if r.maxVCPUID != invalidVCPUID {
		created = int(r.maxVCPUID) + 1
	}
	switch {
	case n < 1 || n > hypervisor.MaxVCPUs:
		return invalid(op, id, "%d vCPUs, want 1 to %d", n, hypervisor.MaxVCPUs)
	case n > created:
		return invalid(op, id, "%d vCPUs: Xen fixed %d when the domain was created", n, created)
	}
	s := h.state(id, r.handle)
	if h.built(r, s) {
		return invalid(op, id, "is already built")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s == nil {
		s = &domState{handle: r.handle, typ: decodeInfo(r).Type}
		h.doms[id] = s
	}
	s.vcpus = n
	return nil
}

// built reports whether a domain was built: by this backend, or it holds
// memory.
func (h *Hypervisor) built(r rawInfo, s *domState) bool {
	if s != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		if s.built {
			return true
		}
	}
	return r.totPages > 0
}

// Pause implements hypervisor.Domains. Xen counts pauses by the
// toolstack, so a paused domain is left as it is.
func (h *Hypervisor) Pause(ctx context.Context, id hypervisor.DomID) error {
	r, err := h.lookupGuest(ctx, "pause", id)
	if err != nil || r.flags&dominfPaused != 0 {
		return err
	}
	if err := h.xc.pause(uint32(id)); err != nil {
		return domErr("pause", id, err)
	}
	h.ev.signal()
	return nil
}

// Unpause implements hypervisor.Domains: a built domain that is paused is
// unpaused once; a running one is left as it is.
func (h *Hypervisor) Unpause(ctx context.Context, id hypervisor.DomID) error {
	r, err := h.lookupGuest(ctx, "unpause", id)
	if err != nil || r.flags&dominfPaused == 0 {
		return err
	}
	if !h.built(r, h.state(id, r.handle)) {
		return invalid("unpause", id, "is not built")
	}
	// EINVAL: unpaused by someone else meanwhile.
	if err := h.xc.unpause(uint32(id)); err != nil && err != syscall.EINVAL {
		return domErr("unpause", id, err)
	}
	h.ev.signal()
	return nil
}

// Shutdown implements hypervisor.Domains (SCHEDOP_remote_shutdown). Xen
// keeps the first reason.
func (h *Hypervisor) Shutdown(ctx context.Context, id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	if _, err := h.lookupGuest(ctx, "shutdown", id); err != nil {
		return err
	}
	if !reason.Valid() {
		return invalid("shutdown", id, "unknown %s", reason)
	}
	if err := h.xc.shutdown(uint32(id), int(reason)); err != nil {
		return domErr("shutdown", id, err)
	}
	h.ev.signal()
	return nil
}

// Destroy implements hypervisor.Domains. The domain shows as dying until
// every page is released (dom0 mappings of its memory hold it).
func (h *Hypervisor) Destroy(ctx context.Context, id hypervisor.DomID) error {
	r, err := h.lookup(ctx, "destroy", id)
	if err != nil {
		return err
	}
	if id == hypervisor.Dom0 {
		return invalid("destroy", id, "not allowed on the control domain")
	}
	if r.flags&dominfDying == 0 {
		if err := h.xc.destroy(uint32(id)); err != nil {
			return domErr("destroy", id, err)
		}
	}
	h.forget(id)
	h.ev.signal()
	return nil
}

// info decodes r and adds what the backend remembers.
func (h *Hypervisor) info(r rawInfo) hypervisor.DomainInfo {
	info := decodeInfo(r)
	s := h.state(info.ID, r.handle)
	if s == nil {
		info.TargetKiB = info.MemoryKiB
		return info
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	info.VCPUs = s.vcpus
	info.TargetKiB = s.targetKiB
	if !s.built {
		info.TargetKiB = info.MemoryKiB
	}
	if info.Type == hypervisor.DomainTypeHVM && s.typ == hypervisor.DomainTypePVH {
		info.Type = s.typ
	}
	return info
}

// DomainInfo implements hypervisor.Domains (xc_domain_getinfolist).
func (h *Hypervisor) DomainInfo(ctx context.Context, id hypervisor.DomID) (hypervisor.DomainInfo, error) {
	r, err := h.lookup(ctx, "domain info", id)
	if err != nil {
		return hypervisor.DomainInfo{}, err
	}
	return h.info(r), nil
}

// listBatch is how many domains one xc_domain_getinfolist call returns.
const listBatch = 256

// ListDomains implements hypervisor.Domains.
func (h *Hypervisor) ListDomains(ctx context.Context) ([]hypervisor.DomainInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	raw, err := h.listRaw()
	if err != nil {
		return nil, err
	}
	out := make([]hypervisor.DomainInfo, len(raw))
	for i, r := range raw {
		out[i] = h.info(r)
	}
	return out, nil
}

// listRaw returns every domain as Xen reports it, in id order.
func (h *Hypervisor) listRaw() ([]rawInfo, error) {
	var all []rawInfo
	first := uint32(0)
	for {
		batch, err := h.xc.infoList(first, listBatch)
		if err != nil {
			return nil, fmt.Errorf("list domains: %w (%w)", errnoKind(err), err)
		}
		all = append(all, batch...)
		if len(batch) < listBatch {
			return all, nil
		}
		first = batch[len(batch)-1].domid + 1
	}
}

// SetMemoryTarget implements hypervisor.Memory. Xen has no balloon target:
// the toolstack writes xenstore's memory/target (actors/vm does), and the
// backend remembers the value for DomainInfo.
func (h *Hypervisor) SetMemoryTarget(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	const op = "set memory target"
	r, err := h.lookupGuest(ctx, op, id)
	if err != nil {
		return err
	}
	info := h.info(r)
	if kib == 0 || kib > info.MaxMemKiB {
		return invalid(op, id, "%d KiB is not within (0, %d]", kib, info.MaxMemKiB)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.doms[id]
	if s == nil {
		s = &domState{handle: r.handle, typ: info.Type, vcpus: info.VCPUs, built: r.totPages > 0}
		h.doms[id] = s
	}
	s.targetKiB = kib
	s.built = s.built || r.totPages > 0
	return nil
}
