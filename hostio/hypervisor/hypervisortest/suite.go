package hypervisortest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// PageAccess reads and writes guest memory from outside the guest (a dom0
// foreign mapping). The suite uses it, when the implementation has it, to
// check that memory contents survive save, restore and migration.
type PageAccess interface {
	// WritePage writes data at the start of page pfn and zeroes the rest.
	WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error
	// ReadPage returns a copy of page pfn.
	ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error)
	// MemoryChecksum returns a digest that is equal for domains with equal
	// memory contents.
	MemoryChecksum(ctx context.Context, id hypervisor.DomID) ([32]byte, error)
}

// Option adjusts the suite to an implementation.
type Option func(*options)

type options struct {
	build       hypervisor.BuildConfig
	timeout     time.Duration
	types       []hypervisor.DomainType
	noMigration bool
	fixedVCPUs  bool
}

// WithBuildConfig sets the kernel, firmware and memory the suite builds
// domains with; a real host needs real images. Zero fields keep the
// defaults (16 MiB of memory).
func WithBuildConfig(cfg hypervisor.BuildConfig) Option {
	return func(o *options) {
		if cfg.MemoryKiB == 0 {
			cfg.MemoryKiB = o.build.MemoryKiB
		}
		o.build = cfg
	}
}

// WithTimeout sets how long the suite waits for an event or for a destroyed
// domain to disappear; default 5 s.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithTypes limits the domain types the suite creates; default all three.
func WithTypes(types ...hypervisor.DomainType) Option {
	return func(o *options) { o.types = types }
}

// WithoutMigration skips the tests of save, restore, the dirty log and
// live migration, for an implementation whose Migration methods are
// errdefs.ErrNotImplemented (they must still check the domain and the
// context first).
func WithoutMigration() Option { return func(o *options) { o.noMigration = true } }

// WithFixedVCPUs is for a hypervisor that fixes a domain's vCPUs when it is
// created (Xen 4.17): SetMaxVCPUs must accept up to the created count and
// refuse more with errdefs.ErrInvalid, instead of raising it.
func WithFixedVCPUs() Option { return func(o *options) { o.fixedVCPUs = true } }

// Run runs the conformance suite; newHV returns the implementation for one
// subtest (a fresh simulator, or the one real host).
func Run(t *testing.T, newHV func(t *testing.T) hypervisor.Hypervisor, opts ...Option) {
	o := options{
		build: hypervisor.BuildConfig{Kernel: "/boot/xenactor-conformance-kernel", Cmdline: "console=hvc0",
			MemoryKiB: 16 << 10},
		timeout: 5 * time.Second,
		types:   []hypervisor.DomainType{hypervisor.DomainTypePV, hypervisor.DomainTypePVH, hypervisor.DomainTypeHVM},
	}
	for _, opt := range opts {
		opt(&o)
	}
	for _, tc := range tests() {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, &harness{t: t, hv: newHV(t), o: o})
		})
	}
	for _, tc := range migrationSuite() {
		t.Run(tc.name, func(t *testing.T) {
			if o.noMigration {
				t.Skip("without migration")
			}
			tc.run(t, &harness{t: t, hv: newHV(t), o: o})
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, h *harness)
}

func tests() []testCase {
	var all []testCase
	all = append(all, lifecycleTests()...)
	all = append(all, transitionTests()...)
	all = append(all, eventTests()...)
	all = append(all, memoryTests()...)
	return all
}

// migrationSuite lists the tests of save, restore, the dirty log and live
// migration, which WithoutMigration skips.
func migrationSuite() []testCase {
	var all []testCase
	all = append(all, saveTransitionTests()...)
	all = append(all, migrationTests()...)
	all = append(all, corruptImageTests()...)
	return all
}

// harness holds one subtest's implementation and helpers.
type harness struct {
	t  *testing.T
	hv hypervisor.Hypervisor
	o  options
}

func (h *harness) ctx() context.Context { return h.t.Context() }

// sub returns the harness for a subtest of h's test.
func (h *harness) sub(t *testing.T) *harness { return &harness{t: t, hv: h.hv, o: h.o} }

// newUUID returns a random version-4 uuid.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0F | 0x40
	u[8] = u[8]&0x3F | 0x80
	return hypervisor.FormatUUID(u)
}

// config returns a create config of the given type with room for the build.
func (h *harness) config(typ hypervisor.DomainType) hypervisor.CreateConfig {
	return hypervisor.CreateConfig{UUID: newUUID(), Type: typ, MaxVCPUs: 2, MaxMemKiB: 2 * h.o.build.MemoryKiB}
}

// create creates a domain and destroys it when the test ends.
func (h *harness) create(cfg hypervisor.CreateConfig) hypervisor.DomID {
	h.t.Helper()
	id, err := h.hv.Create(h.ctx(), cfg)
	require.NoError(h.t, err)
	h.t.Cleanup(func() {
		if err := h.hv.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			h.t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

// built creates and builds a domain of the first type, left paused.
func (h *harness) built() (hypervisor.DomID, hypervisor.BuildResult) {
	h.t.Helper()
	return h.builtOf(h.o.types[0])
}

func (h *harness) builtOf(typ hypervisor.DomainType) (hypervisor.DomID, hypervisor.BuildResult) {
	h.t.Helper()
	id := h.create(h.config(typ))
	res, err := h.hv.Build(h.ctx(), id, h.o.build)
	require.NoError(h.t, err)
	return id, res
}

func (h *harness) info(id hypervisor.DomID) hypervisor.DomainInfo {
	h.t.Helper()
	info, err := h.hv.DomainInfo(h.ctx(), id)
	require.NoError(h.t, err)
	return info
}

// pages returns the implementation's PageAccess or skips the test.
func (h *harness) pages() PageAccess {
	h.t.Helper()
	pa, ok := h.hv.(PageAccess)
	if !ok {
		h.t.Skip("implementation has no PageAccess")
	}
	return pa
}

// nPages is the number of pages of a domain built by the suite.
func (h *harness) nPages() uint64 { return h.o.build.MemoryKiB / (hypervisor.PageSize / 1024) }

// waitGone waits until a destroyed domain has disappeared.
func (h *harness) waitGone(id hypervisor.DomID) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		_, err := h.hv.DomainInfo(h.ctx(), id)
		return errdefs.IsNotFound(err)
	}, h.o.timeout, 5*time.Millisecond, "domain %d still present after destroy", id)
}
