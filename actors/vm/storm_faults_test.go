package vm_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/supervisors"
)

// everyNthHotplug panics in every n-th Add, counted across all VMs.
type everyNthHotplug struct {
	hotplug.Hotplug
	n, calls, panics *atomic.Int64
}

func (h everyNthHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if h.calls.Add(1)%h.n.Load() == 0 {
		h.panics.Add(1)
		panic("injected device fault")
	}
	return h.Hotplug.Add(ctx, d)
}

// everyNthStore panics in every n-th directory listing of a guest read,
// counted across all VMs.
type everyNthStore struct {
	guest.Store
	n, calls, panics *atomic.Int64
}

func (s everyNthStore) Directory(ctx context.Context, p string) ([]string, error) {
	if s.calls.Add(1)%s.n.Load() == 0 {
		s.panics.Add(1)
		panic("injected guest fault")
	}
	return s.Store.Directory(ctx, p)
}

func TestVMActor_PanicsInDeviceAndGuestActorsDuringAStartOf50(t *testing.T) {
	e := newEnv(t)
	baseline := runtime.NumGoroutine()
	devAcc, guestAcc := supervisors.NewAccounting(), supervisors.NewAccounting()
	var devN, devCalls, devPanics, guestN, guestCalls, guestPanics atomic.Int64
	devN.Store(7)
	guestN.Store(5)
	const n = 50
	clients := make([]vm.Client, n)
	for i := range clients {
		spec := newSpec("sim:linux,agent=20ms")
		clients[i] = e.spawnVM(t, spec, func(cfg *vm.Config) {
			fastGuest(cfg)
			cfg.Hotplug = everyNthHotplug{Hotplug: cfg.Hotplug, n: &devN, calls: &devCalls, panics: &devPanics}
			cfg.DeviceSupervisor = supervisors.New(supervisors.WithAccounting(devAcc))
			cfg.GuestSupervisor = supervisors.New(supervisors.WithFamily("guest"), supervisors.WithAccounting(guestAcc),
				supervisors.WithLimit(1000, 0))
			vm.WrapGuestStore(cfg, func(s guest.Store) guest.Store {
				return everyNthStore{Store: s, n: &guestN, calls: &guestCalls, panics: &guestPanics}
			})
		})
	}

	// Start all 50 at once; guests report while device and guest actors
	// panic.
	startAll := func(cs []vm.Client) []tasks.Task {
		out := make([]tasks.Task, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				id, err := c.Start(ctxFor(t), false)
				if err != nil {
					t.Errorf("start: %v", err)
					return
				}
				out[i] = e.wait(t, id)
			})
		}
		wg.Wait()
		return out
	}
	var failed []vm.Client
	for i, task := range startAll(clients) {
		if task.State == tasks.Failed {
			require.Contains(t, task.Error, "panicked", "only an injected fault fails a start")
			failed = append(failed, clients[i])
			continue
		}
		require.Equal(t, tasks.Completed, task.State)
	}
	require.NotEmpty(t, failed)

	// The guest actors of the running VMs panic as they read and are
	// restarted; each VM's metrics arrive in the end.
	for _, c := range clients {
		e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data"})
	}
	require.Eventually(t, func() bool { return guestPanics.Load() > 0 }, waitFor, tick)

	// Failed VMs left nothing; the restarted device actors serve retries.
	for range 5 {
		if len(failed) == 0 {
			break
		}
		res := startAll(failed)
		var still []vm.Client
		for i, task := range res {
			if task.State != tasks.Completed {
				still = append(still, failed[i])
			}
		}
		failed = still
	}
	require.Empty(t, failed, "every VM starts in the end")
	guestN.Store(1 << 40) // no more guest faults: let every guest actor finish a read
	for _, c := range clients {
		e.refreshUntil(t, c, func(st *vm.VMStatus) bool {
			return st.PowerState == vm.Running && hasIP(st, vifIP(st.DomID))
		})
	}

	// Every injected panic is one restart of that actor, counted by family.
	count := func(acc *supervisors.Accounting) map[string]int {
		m := map[string]int{}
		for k, v := range acc.Counts() {
			m[k.Family] += v
		}
		return m
	}
	devs := count(devAcc)
	require.Equal(t, int(devPanics.Load()), devs["vbd"]+devs["vif"], "%v", devs)
	require.Equal(t, map[string]int{"guest": int(guestPanics.Load())}, count(guestAcc))

	// All shut down: nothing is left, not even goroutines.
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			id, err := c.Shutdown(ctxFor(t), true)
			if err == nil {
				if task := e.wait(t, id); task.State != tasks.Completed {
					t.Errorf("shutdown: %s", task.Error)
				}
			}
		})
	}
	wg.Wait()
	e.eventuallyNothingLeft(t)
	for _, c := range clients {
		require.NoError(t, e.system.Root.StopFuture(c.PID()).Wait())
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+10 }, waitFor, tick)
}
