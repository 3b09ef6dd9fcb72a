package bootstorm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// fakeDaemon keeps VMs in a map; a VM whose uuid is in failStart fails to
// start. It records the largest number of VMs running at once before each
// start.
type fakeDaemon struct {
	mu        sync.Mutex
	vms       map[string]VM
	running   map[string]bool
	failStart map[string]bool
	sizedFor  int
	closed    bool
}

func (f *fakeDaemon) AddVM(_ context.Context, vm VM) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vms[vm.UUID]; ok {
		return fmt.Errorf("%s: %w", vm.UUID, errdefs.ErrExists)
	}
	if vm.MemoryKiB == 0 || vm.Image == "" || vm.DiskParams == "" || vm.MAC == "" {
		return fmt.Errorf("%+v: %w", vm, errdefs.ErrInvalid)
	}
	f.vms[vm.UUID] = vm
	return nil
}

func (f *fakeDaemon) StartVM(_ context.Context, uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vms[uuid]; !ok {
		return errdefs.ErrNotFound
	}
	if f.failStart[uuid] {
		return errors.New("no luck")
	}
	if f.running[uuid] {
		return errdefs.ErrBusy
	}
	if len(f.running) >= f.sizedFor {
		return errdefs.ErrResourceExhausted
	}
	f.running[uuid] = true
	return nil
}

func (f *fakeDaemon) ShutdownVM(_ context.Context, uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running[uuid] {
		return errdefs.ErrInvalid
	}
	delete(f.running, uuid)
	return nil
}

func (f *fakeDaemon) Count(context.Context) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.running), len(f.running), nil
}

func (f *fakeDaemon) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// fakes starts fakeDaemons and remembers them.
type fakes struct {
	failStart map[string]bool
	started   []*fakeDaemon
}

func (fs *fakes) new(_ context.Context, vms int, memKiB uint64) (Daemon, error) {
	f := &fakeDaemon{vms: make(map[string]VM), running: make(map[string]bool), failStart: fs.failStart,
		sizedFor: vms}
	fs.started = append(fs.started, f)
	return f, nil
}

func TestRun_Accounting(t *testing.T) {
	fs := &fakes{}
	r, err := Run(context.Background(), Options{Daemon: fs.new, VMs: 20, Concurrency: 5, Levels: []int{10, 2, 10},
		Probe: 4, ProbeConcurrency: 2})
	require.NoError(t, err)
	require.Len(t, fs.started, 2, "a fresh daemon for the storm and one for the curve")
	for _, f := range fs.started {
		require.True(t, f.closed)
	}
	require.Len(t, fs.started[0].vms, 20)
	require.Len(t, fs.started[1].vms, 10+4, "the fill VMs of the top level and the probe")

	s := r.Storm
	require.NotNil(t, s)
	require.Equal(t, StormResult{VMs: 20, Concurrency: 5, Started: 20, Running: 20, Domains: 20},
		StormResult{VMs: s.VMs, Concurrency: s.Concurrency, Started: s.Started, Failed: s.Failed,
			Running: s.Running, Domains: s.Domains, Leftover: s.Leftover})
	require.Empty(t, s.Errors)
	require.Positive(t, s.PerSecond)
	require.Positive(t, s.Latency.P50)
	require.LessOrEqual(t, s.Latency.P50, s.Latency.P90)
	require.LessOrEqual(t, s.Latency.P90, s.Latency.P99)
	require.LessOrEqual(t, s.Latency.P99, s.Latency.Max)

	c := r.Curve
	require.NotNil(t, c)
	require.Equal(t, DefaultRounds, c.Rounds)
	require.Len(t, c.Levels, 2, "levels sorted and deduplicated")
	require.Equal(t, 2, c.Levels[0].Running, "the lowest level is the baseline")
	require.Equal(t, 10, c.Levels[1].Running)
	for _, l := range c.Levels {
		require.Equal(t, 4, l.Probe)
		require.Zero(t, l.Failed)
		require.Positive(t, l.Latency.P50)
		require.Positive(t, l.Ratio)
	}
	require.InDelta(t, 1.0, c.Levels[0].Ratio, 1e-9)
	require.Zero(t, c.Leftover)

	var buf bytes.Buffer
	WriteTable(&buf, r)
	require.Contains(t, buf.String(), "starts/s")
	require.Contains(t, buf.String(), "p50/base")
}

func TestRun_FailedStartsAreCounted(t *testing.T) {
	failing := (&env{}).vm("5707a000", 3).UUID
	fs := &fakes{failStart: map[string]bool{failing: true}}
	r, err := Run(context.Background(), Options{Daemon: fs.new, VMs: 10, Concurrency: 3})
	require.NoError(t, err, "only the VMs that started are shut down")
	s := r.Storm
	require.Equal(t, 9, s.Started)
	require.Equal(t, 1, s.Failed)
	require.Len(t, s.Errors, 1)
	require.Contains(t, s.Errors[0], failing)
	require.Equal(t, 9, s.Running)
	require.Zero(t, s.Leftover)
}

func TestRun_NeedsADaemon(t *testing.T) {
	_, err := Run(context.Background(), Options{VMs: 1})
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}

func TestLatency(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	ds = append(ds, 0) // a failure does not count
	l := latency(ds)
	require.Equal(t, Latency{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond,
		Max: 100 * time.Millisecond}, l)
	require.Equal(t, Latency{}, latency(nil))
}
