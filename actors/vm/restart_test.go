package vm_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
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
