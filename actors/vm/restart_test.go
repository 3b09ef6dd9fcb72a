package vm_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// boom makes the VM actor panic when it receives it (see panicOnBoom).
type boom struct{}

// panicOnBoom makes the VM actor panic on a *boom.
func panicOnBoom(c *vm.Config) {
	vm.OnReceive(c, func(msg any) {
		if _, ok := msg.(*boom); ok {
			panic("injected VM actor fault")
		}
	})
}

func TestVMActor_RestartedActorStartsFromTheJournal(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	var saved []vm.Record
	var mu sync.Mutex
	j := vm.NewJournal(vm.Record{Spec: spec}, func(_ context.Context, rec vm.Record) error {
		mu.Lock()
		defer mu.Unlock()
		saved = append(saved, rec)
		return nil
	})
	c := e.spawnVM(t, spec, func(cfg *vm.Config) {
		cfg.Journal = j
		panicOnBoom(cfg)
	})
	domid := startRunning(t, e, c)
	rec := j.Record()
	require.Equal(t, domid, rec.DomID)
	require.Nil(t, rec.Op)
	require.Zero(t, rec.Creating)
	mu.Lock()
	var sawOp bool
	for _, r := range saved {
		require.Zero(t, r.Creating, "a half-made domain is not written: a new daemon finds it by uuid")
		sawOp = sawOp || (r.Op != nil && r.Op.Kind == "VM.start")
	}
	require.Len(t, saved, 2, "a start costs two writes: its command, then its outcome")
	mu.Unlock()
	require.True(t, sawOp, "the start was recorded while it ran")

	extra := vm.VBD{DevID: 51728, Params: "/dev/loop1"}
	id, err := c.PlugVBD(ctxFor(t), extra)
	e.succeed(t, id, err)
	require.Len(t, j.Record().Spec.VBDs, 2)

	// The actor panics: its supervisor restarts it, and the new incarnation
	// takes the journal's spec (with the hot-plugged VBD) and adopts the
	// domain instead of forgetting it.
	e.system.Root.Send(c.PID(), &boom{})
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		if st.PowerState != vm.Running || st.DomID != domid || len(st.Devices) != 3 {
			return false
		}
		for _, d := range st.Devices {
			if d.BackendState != xenbus.StateConnected || d.FrontendState != xenbus.StateConnected {
				return false
			}
		}
		return true
	})
	require.NoError(t, st.LastError)

	id, err = c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
	require.Zero(t, j.Record().DomID)
}

func TestVMActor_PanicDuringAnOperationFailsItsTaskAndAdopts(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:hostile-noack")
	c := e.spawnVM(t, spec, func(cfg *vm.Config) {
		cfg.AckTimeout = time.Minute
		panicOnBoom(cfg)
	})
	domid := startRunning(t, e, c)

	// A clean shutdown waits for an acknowledgement that never comes; the
	// actor panics meanwhile.
	id, err := c.Shutdown(ctxFor(t), false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		task, err := e.tasks.Get(ctxFor(t), id)
		return err == nil && task.State == tasks.Pending
	}, waitFor, tick)
	e.system.Root.Send(c.PID(), &boom{})
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, errdefs.Kind(errdefs.ErrUnavailable), task.ErrorKind, task.Error)

	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && st.DomID == domid
	})
	require.NoError(t, st.LastError)
	id, err = c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// panickyHypervisor panics in the first Unpause.
type panickyHypervisor struct {
	hypervisor.Hypervisor
	done atomic.Bool
}

func (p *panickyHypervisor) Unpause(ctx context.Context, id hypervisor.DomID) error {
	if p.done.CompareAndSwap(false, true) {
		panic("libxenctrl binding blew up")
	}
	return p.Hypervisor.Unpause(ctx, id)
}

func TestVMActor_PanicInAnAtomFailsOnlyThatOperation(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) {
		cfg.Hypervisor = &panickyHypervisor{Hypervisor: e.hv}
	})
	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "panicked")
	// The domain the start made is kept (paused) and seen; the VM goes on.
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Paused })
	id, err = c.Unpause(ctxFor(t))
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running && st.DomID != 0 })
	id, err = c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// gatedCreateHypervisor holds the first Create until release is closed,
// then creates the domain whatever became of the caller's context: a
// creation the hypervisor already began.
type gatedCreateHypervisor struct {
	hypervisor.Hypervisor
	entered chan struct{}
	release chan struct{}
	once    atomic.Bool
}

func (g *gatedCreateHypervisor) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	if g.once.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
		ctx = context.WithoutCancel(ctx)
	}
	return g.Hypervisor.Create(ctx, cfg)
}

func TestVMActor_RestartWaitsForThePreviousIncarnationsOperation(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	j := vm.NewJournal(vm.Record{Spec: spec}, nil)
	gate := &gatedCreateHypervisor{Hypervisor: e.hv, entered: make(chan struct{}), release: make(chan struct{})}
	waiting := make(chan struct{})
	var waitOnce sync.Once
	c := e.spawnVM(t, spec, func(cfg *vm.Config) {
		cfg.Journal = j
		cfg.Hypervisor = gate
		panicOnBoom(cfg)
		vm.OnPriorWait(cfg, func() { waitOnce.Do(func() { close(waiting) }) })
	})

	// The start is inside the hypervisor's Create when the actor restarts:
	// its task fails, but its goroutine goes on.
	first, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	select {
	case <-gate.entered:
	case <-time.After(waitFor):
		t.Fatal("the start did not reach Create")
	}
	e.system.Root.Send(c.PID(), &boom{})
	task := e.wait(t, first)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, errdefs.Kind(errdefs.ErrUnavailable), task.ErrorKind, task.Error)

	// A start sent to the new incarnation waits for the old operation. The
	// old Create is let go once the new incarnation waits, or else once
	// the second start ended: an incarnation that did not wait made a
	// domain that the old operation's outcome then overwrites in the
	// record.
	second, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	secondDone := make(chan struct{})
	go func() {
		defer close(secondDone)
		_, _ = e.tasks.Wait(ctxFor(t), second)
	}()
	select {
	case <-waiting:
	case <-secondDone:
	case <-time.After(waitFor):
		t.Fatal("the new incarnation neither waited nor ran the start")
	}
	close(gate.release)
	task = e.wait(t, second)
	if task.State != tasks.Completed {
		// The old start finished its domain, which was adopted.
		require.Equal(t, errdefs.Kind(errdefs.ErrExists), task.ErrorKind, task.Error)
	}

	// One domain of the VM, the one the actor and the record hold.
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })
	require.Eventually(t, func() bool {
		doms, err := e.hv.ListDomains(ctxFor(t))
		return err == nil && len(doms) == 2
	}, waitFor, tick, "the VM has one domain")
	doms, err := e.hv.ListDomains(ctxFor(t))
	require.NoError(t, err)
	for _, d := range doms {
		if d.ID != hypervisor.Dom0 {
			require.Equal(t, st.DomID, d.ID, "the VM's domain")
		}
	}
	require.Equal(t, st.DomID, j.Record().DomID, "the record holds the VM's domain")

	// A further restart adopts that domain.
	e.system.Root.Send(c.PID(), &boom{})
	eventuallyStatus(t, c, func(s *vm.VMStatus) bool { return s.PowerState == vm.Running && s.DomID == st.DomID })
	id, err := c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// gatedHotplug holds the Add of VIF devid until release is closed.
type gatedHotplug struct {
	hotplug.Hotplug
	devid   int
	entered chan struct{}
	release chan struct{}
	once    atomic.Bool
}

func (g *gatedHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if d.Class == hotplug.ClassVIF && d.DevID == g.devid && g.once.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
		ctx = context.WithoutCancel(ctx)
	}
	return g.Hotplug.Add(ctx, d)
}

func TestVMActor_RestartDuringADeviceWorkEndsTheOldOperationPromptly(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	j := vm.NewJournal(vm.Record{Spec: spec}, nil)
	gate := &gatedHotplug{Hotplug: e.h.Hotplug().Device(), devid: 1, entered: make(chan struct{}),
		release: make(chan struct{})}
	c := e.spawnVM(t, spec, func(cfg *vm.Config) {
		cfg.Journal = j
		cfg.Hotplug = gate
		panicOnBoom(cfg)
	})
	domid := startRunning(t, e, c)

	// A hot-plug's device work is inside the hotplug step when the VM
	// actor restarts, which stops its device actors: the work's answer
	// must still reach the old operation, whose device actor is gone (the
	// new incarnation's spec has no such VIF), instead of it waiting for
	// the bound of several minutes.
	id, err := c.PlugVIF(ctxFor(t), vm.VIF{DevID: 1, MAC: "00:16:3e:00:00:02", Bridge: "xenbr0"})
	require.NoError(t, err)
	select {
	case <-gate.entered:
	case <-time.After(waitFor):
		t.Fatal("the plug did not reach the hotplug step")
	}
	e.system.Root.Send(c.PID(), &boom{})
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	close(gate.release)

	// The new incarnation adopts the domain once the old operation ended,
	// and removes the half-plugged VIF the spec does not hold.
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && st.DomID == domid && len(st.Devices) == 2
	})
	require.Eventually(t, func() bool {
		_, err := e.xs.Read(ctxFor(t), fmt.Sprintf("/local/domain/0/backend/vif/%d/1", domid))
		return errdefs.IsNotFound(err)
	}, waitFor, tick, "the half-plugged VIF's backend is removed")
	require.Len(t, j.Record().Spec.VIFs, 1)
	id, err = c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// stuckHotplug fails the Add of VIF devid and holds every Remove of it
// until the caller's context ends: a backend that will not go.
type stuckHotplug struct {
	hotplug.Hotplug
	devid int
}

func (s *stuckHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if d.Class == hotplug.ClassVIF && d.DevID == s.devid {
		return fmt.Errorf("injected hotplug failure: %w", errdefs.ErrUnavailable)
	}
	return s.Hotplug.Add(ctx, d)
}

func (s *stuckHotplug) Remove(ctx context.Context, d hotplug.Device) error {
	if d.Class == hotplug.ClassVIF && d.DevID == s.devid {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Hotplug.Remove(ctx, d)
}

func TestVMActor_FailedStartDestroysItsDomainEvenWhenAnUnplugHangs(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) {
		cfg.Hotplug = &stuckHotplug{Hotplug: e.h.Hotplug().Device(), devid: 0}
		cfg.CleanupTimeout = 300 * time.Millisecond
	})
	// The VIF's hotplug fails the start; the teardown's unplug of it uses
	// up the cleanup budget. The domain is destroyed all the same, and the
	// VM is Halted with it.
	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "injected hotplug failure")
	require.Eventually(t, func() bool {
		doms, err := e.hv.ListDomains(ctxFor(t))
		return err == nil && len(doms) == 1
	}, waitFor, tick, "the start's domain is destroyed")
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	require.Zero(t, st.DomID, "the VM holds no domain")
}
