//go:build xen && linux && cgo

package xen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Supported reports whether this build has the Xen backend (the build tag
// xen, on Linux with cgo).
const Supported = true

// Hypervisor is the Xen backend: one libxenctrl handle for every call, and
// what Xen does not keep per domain (vCPU count given, balloon target,
// built). It is safe for concurrent use.
type Hypervisor struct {
	cfg Config
	log *slog.Logger
	xc  *xc
	ev  *events

	closeOnce sync.Once

	mu   sync.Mutex
	doms map[hypervisor.DomID]*domState
}

// domState is what the backend remembers of a domain it created.
type domState struct {
	handle    [16]byte
	typ       hypervisor.DomainType
	vcpus     int    // the created count, or less after SetMaxVCPUs
	targetKiB uint64 // 0 until built
	built     bool
}

var _ hypervisor.Hypervisor = (*Hypervisor)(nil)

// Open opens libxenctrl (/dev/xen/privcmd: root in a control domain).
// cfg.Xenstore is required; it is dialled when Events is first called.
func Open(cfg Config) (*Hypervisor, error) {
	if cfg.Xenstore == nil {
		return nil, fmt.Errorf("xen backend: Config.Xenstore is required: %w", errdefs.ErrInvalid)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x, err := openXC()
	if err != nil {
		return nil, fmt.Errorf("xen backend: open libxenctrl: %w (%w)", errnoKind(err), err)
	}
	h := &Hypervisor{cfg: cfg, log: log, xc: x, doms: make(map[hypervisor.DomID]*domState)}
	h.ev = newEvents(h)
	return h, nil
}

// Close stops the event sources, closes the events channels and the
// libxenctrl handle; domains are left as they are. Closing again does
// nothing; no other method may be called after Close.
func (h *Hypervisor) Close() error {
	h.closeOnce.Do(func() {
		h.ev.close()
		h.xc.close()
	})
	return nil
}

// HostInfo returns the host's memory, CPUs and Xen version.
func (h *Hypervisor) HostInfo(ctx context.Context) (HostInfo, error) {
	if err := ctx.Err(); err != nil {
		return HostInfo{}, fmt.Errorf("host info: %w", err)
	}
	total, free, cpus, err := h.xc.physinfo()
	if err != nil {
		return HostInfo{}, fmt.Errorf("host info: physinfo: %w (%w)", errnoKind(err), err)
	}
	v, err := h.xc.version()
	if err != nil {
		return HostInfo{}, fmt.Errorf("host info: version: %w (%w)", errnoKind(err), err)
	}
	const kibPerPage = hypervisor.PageSize / 1024
	return HostInfo{TotalKiB: total * kibPerPage, FreeKiB: free * kibPerPage, CPUs: cpus, Version: v}, nil
}

// state returns what the backend remembers of domain id whose handle is
// handle, dropping a stale entry of an earlier domain with the same id.
func (h *Hypervisor) state(id hypervisor.DomID, handle [16]byte) *domState {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.doms[id]
	if s != nil && s.handle != handle {
		delete(h.doms, id)
		return nil
	}
	return s
}

func (h *Hypervisor) forget(id hypervisor.DomID) {
	h.mu.Lock()
	delete(h.doms, id)
	h.mu.Unlock()
}

// errNotImplemented is the error of the migration methods.
var errNotImplemented = errors.New("live migration on real Xen is not implemented")

// noMigration checks ctx and that the domain exists, then fails with
// errdefs.ErrNotImplemented.
func (h *Hypervisor) noMigration(ctx context.Context, op string, id hypervisor.DomID) error {
	if _, err := h.lookup(ctx, op, id); err != nil {
		return err
	}
	return fmt.Errorf("%s: domain %d: %w: %w", op, id, errNotImplemented, errdefs.ErrNotImplemented)
}

// Save implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) Save(ctx context.Context, id hypervisor.DomID, _ io.Writer, _ hypervisor.SaveOptions) error {
	return h.noMigration(ctx, "save", id)
}

// Restore implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) Restore(ctx context.Context, id hypervisor.DomID, _ io.Reader) (hypervisor.BuildResult, error) {
	return hypervisor.BuildResult{}, h.noMigration(ctx, "restore", id)
}

// EnableDirtyLog implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) EnableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	return h.noMigration(ctx, "enable dirty log", id)
}

// DisableDirtyLog implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) DisableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	return h.noMigration(ctx, "disable dirty log", id)
}

// ReadDirtyLog implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) ReadDirtyLog(ctx context.Context, id hypervisor.DomID, _ bool) ([]uint64, error) {
	return nil, h.noMigration(ctx, "read dirty log", id)
}

// ReadPages implements hypervisor.Migration: errdefs.ErrNotImplemented.
func (h *Hypervisor) ReadPages(ctx context.Context, id hypervisor.DomID, _ []uint64, _ io.Writer) error {
	return h.noMigration(ctx, "read pages", id)
}
