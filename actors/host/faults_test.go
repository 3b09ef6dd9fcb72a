package host_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/supervisors"
)

// faultyHotplug panics in every n-th Add, across all VMs, inside the
// device actor that runs it.
type faultyHotplug struct {
	hotplug.Hotplug
	every    int64
	adds     atomic.Int64
	panicked atomic.Int64
}

func (f *faultyHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if f.adds.Add(1)%f.every == 0 {
		f.panicked.Add(1)
		panic("injected fault in the hotplug of " + d.BackendPath())
	}
	return f.Hotplug.Add(ctx, d)
}

// spawnFaultyHost spawns a host whose VM actors plug through hp and whose
// supervisors record in acc.
func (e *env) spawnFaultyHost(t *testing.T, hp hotplug.Hotplug, acc *supervisors.Accounting) host.Client {
	t.Helper()
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: hp, Accounting: acc,
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	return host.NewClient(e.system, pid)
}

// startAll starts every VM of specs concurrently and returns each start's
// finished task, by uuid.
func startAll(t *testing.T, hc host.Client, tc tasks.Client, specs []vm.Spec) map[string]tasks.Task {
	t.Helper()
	out := forAll(t, hc, tc, specs, func(ctx context.Context, c vm.Client) (string, error) { return c.Start(ctx, false) })
	require.Len(t, out, len(specs))
	return out
}

// forAll runs op on every VM of specs concurrently and returns the task of
// each, finished, by uuid.
func forAll(t *testing.T, hc host.Client, tc tasks.Client, specs []vm.Spec,
	op func(context.Context, vm.Client) (string, error)) map[string]tasks.Task {
	t.Helper()
	ctx := ctxFor(t)
	var mu sync.Mutex
	out := make(map[string]tasks.Task, len(specs))
	var wg sync.WaitGroup
	for _, s := range specs {
		wg.Go(func() {
			c, err := hc.VM(ctx, s.UUID)
			if !assertNoError(t, err) {
				return
			}
			id, err := op(ctx, c)
			if !assertNoError(t, err) {
				return
			}
			task, err := tc.Wait(ctx, id)
			if !assertNoError(t, err) {
				return
			}
			mu.Lock()
			out[s.UUID] = task
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

// requireAccounted requires that the domains of the host are exactly the
// running VMs' and that xenstore holds trees for those domains only.
func (e *env) requireAccounted(t *testing.T, hc host.Client) {
	t.Helper()
	ctx := ctxFor(t)
	var running []string
	require.Eventually(t, func() bool {
		list, err := hc.ListVMs(ctx)
		if err != nil {
			return false
		}
		running = running[:0]
		for _, v := range list {
			switch v.PowerState {
			case vm.Running:
				running = append(running, v.DomID.String())
			case vm.Halted:
			default:
				return false
			}
		}
		doms, err := e.h.Hypervisor().ListDomains(ctx)
		if err != nil || len(doms) != len(running)+1 {
			return false
		}
		for _, d := range doms {
			if d.ID != hypervisor.Dom0 && !slices.Contains(running, d.ID.String()) {
				return false
			}
		}
		homes, err := e.xs.Directory(ctx, "/local/domain")
		if err != nil || len(homes) != len(running)+1 {
			return false
		}
		for _, class := range []string{"vbd", "vif"} {
			ids, err := e.xs.Directory(ctx, "/local/domain/0/backend/"+class)
			if err == nil && len(ids) != len(running) {
				return false
			}
		}
		return true
	}, 2*waitFor, tick, "every domain and xenstore tree belongs to a running VM")
}

func TestHost_PanicsInDeviceActorsDuringAStormOf50(t *testing.T) {
	e := newEnv(t)
	baseline := runtime.NumGoroutine()
	acc := supervisors.NewAccounting()
	hp := &faultyHotplug{Hotplug: e.h.Hotplug().Device(), every: 7}
	hc := e.spawnFaultyHost(t, hp, acc)
	ctx := ctxFor(t)
	tc := taskClient(t, e, hc)

	specs := make([]vm.Spec, 50)
	for i := range specs {
		specs[i] = newSpec()
		specs[i].VIFs[0].MAC = "00:16:3e:00:01:" + strconv.FormatInt(int64(i+16), 16)
		_, err := hc.AddVM(ctx, specs[i])
		require.NoError(t, err)
	}
	results := startAll(t, hc, tc, specs)
	var failed []vm.Spec
	for _, s := range specs {
		task := results[s.UUID]
		if task.State == tasks.Failed {
			require.Contains(t, task.Error, "panicked", "a start fails only by an injected fault")
			failed = append(failed, s)
			continue
		}
		require.Equal(t, tasks.Completed, task.State)
	}
	injected := int(hp.panicked.Load())
	require.Positive(t, injected)
	require.NotEmpty(t, failed)
	require.LessOrEqual(t, len(failed), injected, "a fault fails at most its own VM's start")

	// Each injected panic is one restart of one device actor, counted.
	restarts := 0
	for k, n := range acc.Counts() {
		require.Contains(t, []string{"vbd", "vif"}, k.Family, "only device actors failed")
		restarts += n
	}
	require.Equal(t, injected, restarts)
	e.requireAccounted(t, hc)

	// The restarted device actors serve the retries; faults still come.
	for range 5 {
		if len(failed) == 0 {
			break
		}
		results = startAll(t, hc, tc, failed)
		failed = slices.DeleteFunc(failed, func(s vm.Spec) bool { return results[s.UUID].State == tasks.Completed })
	}
	require.Empty(t, failed, "every VM starts in the end")
	e.requireAccounted(t, hc)

	// Everything goes away cleanly.
	for uuid, task := range forAll(t, hc, tc, specs, func(ctx context.Context, c vm.Client) (string, error) {
		return c.Shutdown(ctx, true)
	}) {
		require.Equal(t, tasks.Completed, task.State, "shutdown of %s: %s", uuid, task.Error)
	}
	e.requireAccounted(t, hc)
	e.requireXenstoreEmpty(t)
	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+10 }, waitFor, tick,
		"goroutines left: %d, baseline %d", runtime.NumGoroutine(), baseline)
}
