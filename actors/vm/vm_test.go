package vm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

func allDevices(st *vm.VMStatus, be, fe xenbus.State) bool {
	if len(st.Devices) != 2 {
		return false
	}
	for _, d := range st.Devices {
		if d.BackendState != be || (fe != xenbus.StateUnknown && d.FrontendState != fe) {
			return false
		}
	}
	return true
}

// startPaused starts the VM paused and waits until both backends are in
// InitWait.
func startPaused(t *testing.T, e *env, c vm.Client) hypervisor.DomID {
	t.Helper()
	id, err := c.Start(ctxFor(t), true)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Paused && allDevices(st, xenbus.StateInitWait, xenbus.StateInitialising)
	})
	return st.DomID
}

func TestVMActor_StartUnpauseCleanShutdown(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	startPaused(t, e, c)
	id, err := c.Unpause(ctx)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})

	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	e.requireNothingLeft(t)
}

func TestVMActor_CleanShutdown_NoAck(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:hostile-noack")
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.AckTimeout = 300 * time.Millisecond })
	ctx := ctxFor(t)

	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })

	id, err = c.Shutdown(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "did not acknowledge")
	require.Equal(t, "timeout", task.ErrorKind)

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// An HVM guest without PV drivers cannot acknowledge: both shutdowns go
// through the hypervisor.
func TestVMActor_Shutdown_HVMWithoutPV(t *testing.T) {
	for _, hard := range []bool{true, false} {
		t.Run(map[bool]string{true: "hard", false: "clean"}[hard], func(t *testing.T) {
			e := newEnv(t)
			spec := newSpec("sim:hvm-nopv")
			spec.Type = hypervisor.DomainTypeHVM
			c := e.spawnVM(t, spec, nil)
			ctx := ctxFor(t)

			id, err := c.Start(ctx, false)
			e.succeed(t, id, err)
			eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })

			id, err = c.Shutdown(ctx, hard)
			e.succeed(t, id, err)
			e.requireNothingLeft(t)
		})
	}
}

func TestVMActor_Start_HotplugFails(t *testing.T) {
	e := newEnv(t)
	e.h.Faults().SetHotplugError("boom")
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "boom")

	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	e.requireNothingLeft(t)
}

func TestVMActor_StatWhileStartBlocked_ThenCancel(t *testing.T) {
	e := newEnv(t)
	e.h.Faults().SetBackendDelay(500 * time.Millisecond)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	id, err := c.Start(ctx, true)
	require.NoError(t, err)
	// The start waits on the slow backends, and the actor still answers.
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		if st.PowerState != vm.Paused || len(st.Devices) != 2 {
			return false
		}
		for _, d := range st.Devices {
			if d.BackendState == xenbus.StateUnknown {
				return false // its trees are not written yet
			}
		}
		return true
	})
	task, err := e.tasks.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Pending, task.State, "the start should still be blocked")

	require.NoError(t, e.tasks.Cancel(ctx, id))
	task = e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	e.h.Faults().SetBackendDelay(0)
	e.requireNothingLeft(t)

	st, err = c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
}
