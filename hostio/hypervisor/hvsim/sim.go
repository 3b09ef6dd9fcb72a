package hvsim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Config sets up a simulated host. Zero fields take the defaults.
type Config struct {
	// HostMemoryKiB is the host's memory; default 16 GiB.
	HostMemoryKiB uint64
	// Dom0MemoryKiB is the control domain's memory; default the smaller of
	// 1 GiB and an eighth of the host.
	Dom0MemoryKiB uint64
	// Dom0VCPUs is the control domain's vCPU count; default 2.
	Dom0VCPUs int
	// DomainOverheadKiB is what the hypervisor keeps for each domain
	// besides its memory, from creation to destruction; default 256 KiB.
	DomainOverheadKiB uint64
	// DirtyPagesPerSecond is the rate at which a new domain's guest writes
	// pages while it runs; 0 means an idle guest. See Sim.SetDirtyRate.
	DirtyPagesPerSecond int
	// WorkingSetPages is how many distinct pages a guest's writes land on
	// (its writable working set); default 256. A writing guest holds up to
	// this many real pages (1 MiB at the default).
	WorkingSetPages int
	// Clock returns the current time; default time.Now. Tests inject one to
	// make CPU time and dirtying deterministic.
	Clock func() time.Time
}

// Defaults of Config.
const (
	DefaultHostMemoryKiB     = 16 << 20
	DefaultDom0MemoryKiB     = 1 << 20
	DefaultDom0VCPUs         = 2
	DefaultDomainOverheadKiB = 256
	DefaultWorkingSetPages   = 256
)

// Sim is a simulated hypervisor. It implements hypervisor.Hypervisor and is
// safe for concurrent use.
type Sim struct {
	cfg Config
	ev  notifier

	mu      sync.Mutex
	doms    map[hypervisor.DomID]*domain
	rover   hypervisor.DomID // last id handed out
	usedKiB uint64           // dom0, overheads and domain memory
}

var _ hypervisor.Hypervisor = (*Sim)(nil)

// New returns a simulated host with dom0 running. It panics if dom0 does
// not fit in the host's memory.
func New(cfg Config) *Sim {
	if cfg.HostMemoryKiB == 0 {
		cfg.HostMemoryKiB = DefaultHostMemoryKiB
	}
	if cfg.Dom0MemoryKiB == 0 {
		cfg.Dom0MemoryKiB = min(DefaultDom0MemoryKiB, cfg.HostMemoryKiB/8)
	}
	if cfg.Dom0MemoryKiB > cfg.HostMemoryKiB {
		panic(fmt.Sprintf("hvsim: dom0 memory %d KiB exceeds host memory %d KiB", cfg.Dom0MemoryKiB, cfg.HostMemoryKiB))
	}
	if cfg.Dom0VCPUs <= 0 {
		cfg.Dom0VCPUs = DefaultDom0VCPUs
	}
	if cfg.DomainOverheadKiB == 0 {
		cfg.DomainOverheadKiB = DefaultDomainOverheadKiB
	}
	if cfg.WorkingSetPages <= 0 {
		cfg.WorkingSetPages = DefaultWorkingSetPages
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &Sim{cfg: cfg, doms: make(map[hypervisor.DomID]*domain)}
	s.ev.init()
	dom0 := &domain{
		id: hypervisor.Dom0, typ: hypervisor.DomainTypePV, vcpus: cfg.Dom0VCPUs, control: true, built: true,
		memKiB: cfg.Dom0MemoryKiB, maxMemKiB: cfg.Dom0MemoryKiB, targetKiB: cfg.Dom0MemoryKiB,
		since: cfg.Clock(),
	}
	s.doms[dom0.id] = dom0
	s.usedKiB = cfg.Dom0MemoryKiB
	return s
}

// FreeMemoryKiB returns the host memory not held by any domain.
func (s *Sim) FreeMemoryKiB() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.freeKiB()
}

func (s *Sim) freeKiB() uint64 { return s.cfg.HostMemoryKiB - s.usedKiB }

// reserve accounts kib of host memory, or fails with ResourceExhausted.
func (s *Sim) reserve(kib uint64) error {
	if free := s.freeKiB(); kib > free {
		return fmt.Errorf("need %d KiB, host has %d KiB free: %w", kib, free, errdefs.ErrResourceExhausted)
	}
	s.usedKiB += kib
	return nil
}

// lookup returns a domain; s.mu is held.
func (s *Sim) lookup(id hypervisor.DomID) (*domain, error) {
	d, ok := s.doms[id]
	if !ok {
		return nil, errdefs.ErrNotFound
	}
	return d, nil
}

// do runs f on domain id under the lock, after accounting the time since its
// last observation, and signals a change when f reports one. Errors read
// "<op>: domain <id>: <what f said>".
func (s *Sim) do(ctx context.Context, op string, id hypervisor.DomID, f func(d *domain) (changed bool, err error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: domain %d: %w", op, id, err)
	}
	s.mu.Lock()
	d, err := s.lookup(id)
	changed := false
	if err == nil {
		s.settle(d)
		changed, err = f(d)
	}
	s.mu.Unlock()
	if changed {
		s.ev.notify(id)
	}
	if err != nil {
		return fmt.Errorf("%s: domain %d: %w", op, id, err)
	}
	return nil
}

// errorf returns an error of the given errdefs kind with a message.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), kind)
}

// invalid returns an ErrInvalid error with a message.
func invalid(format string, args ...any) error { return errorf(errdefs.ErrInvalid, format, args...) }
