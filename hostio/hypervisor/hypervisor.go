package hypervisor

import (
	"context"
	"io"
)

// Domains is the lifecycle of domains. New domains start paused, as in Xen.
type Domains interface {
	// Create makes an empty, paused domain and returns its id. Ids increase
	// and a freed id is not reused until the id space wraps.
	Create(ctx context.Context, cfg CreateConfig) (DomID, error)
	// SetMaxMem sets the memory limit of a domain in KiB.
	SetMaxMem(ctx context.Context, id DomID, kib uint64) error
	// SetMaxVCPUs sets the number of vCPUs of a domain that is not built yet.
	SetMaxVCPUs(ctx context.Context, id DomID, n int) error
	// Pause stops a domain's vCPUs. Pausing a paused domain does nothing.
	Pause(ctx context.Context, id DomID) error
	// Unpause lets a built domain run. Unpausing a running domain does nothing.
	Unpause(ctx context.Context, id DomID) error
	// Shutdown shuts a domain down with a reason, without asking the guest
	// (SCHEDOP_remote_shutdown): the toolstack's hard shutdown path. A domain
	// already shut down keeps its first reason.
	Shutdown(ctx context.Context, id DomID, reason ShutdownReason) error
	// Destroy kills a domain and frees its memory. The domain may show as
	// Dying for a while before it disappears.
	Destroy(ctx context.Context, id DomID) error
	// DomainInfo returns the state of one domain; an unknown id is
	// errdefs.ErrNotFound.
	DomainInfo(ctx context.Context, id DomID) (DomainInfo, error)
	// ListDomains returns every domain, dom0 included, sorted by id.
	ListDomains(ctx context.Context) ([]DomainInfo, error)
}

// Builder loads a created domain with its kernel or firmware and memory.
type Builder interface {
	// Build populates the domain's memory and sets up its xenstore and
	// console rings. A domain is built once; it stays paused.
	Build(ctx context.Context, id DomID, cfg BuildConfig) (BuildResult, error)
}

// Memory adjusts the memory of running domains.
type Memory interface {
	// SetMemoryTarget records the balloon target of a domain in KiB; the
	// guest's balloon driver moves its memory towards it.
	SetMemoryTarget(ctx context.Context, id DomID, kib uint64) error
}

// Events reports domain state changes (Xen's VIRQ_DOM_EXC).
type Events interface {
	// Events returns a channel that receives a value after any domain
	// changed state: created, paused, unpaused, shut down, destroyed. Signals
	// coalesce (the channel holds one), so the receiver re-reads the state
	// with ListDomains. The channel is closed when ctx ends.
	Events(ctx context.Context) (<-chan struct{}, error)
}

// Migration saves and restores the memory image of a domain and tracks the
// pages a running guest dirties, for live migration.
type Migration interface {
	// Save writes the image of a domain that is paused or shut down with
	// reason suspend: a Header record, PageBatch records, a VCPUContext
	// record per vCPU and an End record.
	Save(ctx context.Context, id DomID, w io.Writer, opts SaveOptions) error
	// Restore reads an image into a created domain that is not built yet and
	// leaves it built and paused. On error the domain is left as it was.
	Restore(ctx context.Context, id DomID, r io.Reader) (BuildResult, error)
	// EnableDirtyLog starts recording the pages the domain writes. It is
	// errdefs.ErrBusy when logging is already on (another migration).
	EnableDirtyLog(ctx context.Context, id DomID) error
	// DisableDirtyLog stops recording and drops the log.
	DisableDirtyLog(ctx context.Context, id DomID) error
	// ReadDirtyLog returns the pfns written since logging was enabled or the
	// log was last cleared, sorted; clear empties the log.
	ReadDirtyLog(ctx context.Context, id DomID, clear bool) ([]uint64, error)
	// ReadPages writes PageBatch records holding the given pages, in the
	// given order; the domain may be running (pre-copy).
	ReadPages(ctx context.Context, id DomID, pfns []uint64, w io.Writer) error
}

// Hypervisor is the whole domain-control interface.
type Hypervisor interface {
	Domains
	Builder
	Memory
	Events
	Migration
}
