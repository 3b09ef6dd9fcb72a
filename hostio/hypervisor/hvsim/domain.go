package hvsim

import (
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// domain is the state of one simulated domain; Sim.mu guards it.
type domain struct {
	id        hypervisor.DomID
	uuid      [16]byte
	typ       hypervisor.DomainType
	vcpus     int
	maxMemKiB uint64
	memKiB    uint64 // accounted memory; 0 until built
	targetKiB uint64
	p2mPages  uint64 // pfns 0..p2mPages-1 are valid once built
	ring      hypervisor.BuildResult

	control, built, paused, shutdown, dying bool
	reason                                  hypervisor.ShutdownReason
	holds                                   int // dom0 mappings keeping a dying domain

	cpuTime time.Duration
	since   time.Time // when time was last accounted

	// The guest's writes (see dirty.go).
	rate   int    // pages per second while running
	carry  uint64 // fraction of a page, in page-nanoseconds
	rng    uint64
	writes uint64

	pages    map[uint64]*[hypervisor.PageSize]byte // allocated on write
	logDirty bool
	dirty    map[uint64]struct{}
}

// runnable reports whether the domain's vCPUs may run.
func (d *domain) runnable() bool { return d.built && !d.paused && !d.shutdown && !d.dying }

// check returns why the domain cannot take a toolstack operation: dom0 and
// dying domains take none.
func (d *domain) check() error {
	if d.control {
		return invalid("not allowed on the control domain")
	}
	if d.dying {
		return invalid("is dying")
	}
	return nil
}

// checkBuilt is check plus the domain being built.
func (d *domain) checkBuilt() error {
	if err := d.check(); err != nil {
		return err
	}
	if !d.built {
		return invalid("is not built")
	}
	return nil
}

func (d *domain) info() hypervisor.DomainInfo {
	run := d.runnable()
	return hypervisor.DomainInfo{
		ID:             d.id,
		UUID:           hypervisor.FormatUUID(d.uuid),
		Type:           d.typ,
		Running:        run && (d.rate > 0 || d.control),
		Blocked:        run && d.rate == 0 && !d.control,
		Paused:         d.paused,
		Shutdown:       d.shutdown,
		ShutdownReason: d.reason,
		Dying:          d.dying,
		MemoryKiB:      d.memKiB,
		MaxMemKiB:      d.maxMemKiB,
		TargetKiB:      d.targetKiB,
		VCPUs:          d.vcpus,
		CPUTime:        d.cpuTime,
	}
}

// page returns the page at pfn, allocating it.
func (d *domain) page(pfn uint64) *[hypervisor.PageSize]byte {
	p := d.pages[pfn]
	if p == nil {
		if d.pages == nil {
			d.pages = make(map[uint64]*[hypervisor.PageSize]byte)
		}
		p = new([hypervisor.PageSize]byte)
		d.pages[pfn] = p
	}
	return p
}

// markDirty records a write to pfn in the dirty log.
func (d *domain) markDirty(pfn uint64) {
	if d.logDirty {
		d.dirty[pfn] = struct{}{}
	}
}
