package vm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

// startRunning starts the VM unpaused and waits until it runs with every
// device connected; it returns the domain id.
func startRunning(t *testing.T, e *env, c vm.Client) hypervisor.DomID {
	t.Helper()
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	return st.DomID
}

func TestVMActor_Check_GuestReboot(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)

	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+domid.String()+"/control/shutdown", []byte("reboot")))
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.DomID != domid && st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	_, err := e.hv.DomainInfo(ctx, domid)
	require.Error(t, err, "the old domain is gone")
	require.NoError(t, st.LastError)

	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_GuestPoweroffDestroys(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.OnShutdown = vm.ActionDestroy
	c := e.spawnVM(t, spec, nil)
	domid := startRunning(t, e, c)

	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownPoweroff))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_CrashDestroy(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux,crash=200ms")
	spec.OnCrash = vm.ActionDestroy
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	seen, err := e.events.Next(ctx, 0)
	require.NoError(t, err)

	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	require.False(t, st.CrashLoop)
	e.eventuallyNothingLeft(t)
	rep, err := e.events.Next(ctx, seen.Next)
	require.NoError(t, err)
	require.Contains(t, rep.IDs, vm.ObjectID(spec.UUID), "the crash's cleanup is announced")
}

func TestVMActor_Check_CrashPreserve(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux,crash=200ms")
	spec.OnCrash = vm.ActionPreserve
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)

	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Shutdown })
	time.Sleep(100 * time.Millisecond) // a later check leaves it too
	info, err := e.hv.DomainInfo(ctx, st.DomID)
	require.NoError(t, err)
	require.True(t, info.Shutdown)
	require.Equal(t, hypervisor.ShutdownCrash, info.ShutdownReason)

	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_CrashLoop(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux,crash=100ms")
	spec.OnCrash = vm.ActionRestart
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.CrashLoopMax, cfg.CrashLoopWindow = 3, 30*time.Second })
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)

	var domids []hypervisor.DomID
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		if st.PowerState != vm.Halted && (len(domids) == 0 || domids[len(domids)-1] != st.DomID) {
			domids = append(domids, st.DomID)
		}
		return st.PowerState == vm.Halted && st.CrashLoop
	})
	require.Error(t, st.LastError)
	require.Contains(t, st.LastError.Error(), "crashed more than 3 times")
	require.GreaterOrEqual(t, len(domids), 2, "restarted with new domains")
	e.eventuallyNothingLeft(t)

	// A start clears the crash loop.
	id, err = c.Start(ctx, true)
	e.succeed(t, id, err)
	st, err = c.Stat(ctx)
	require.NoError(t, err)
	require.False(t, st.CrashLoop)
	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_VanishedDomain(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	domid := startRunning(t, e, c)

	require.NoError(t, e.hv.Destroy(ctxFor(t), domid))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	// the sim may keep the domain's xenstore connection until release
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_WatchdogIsACrash_SuspendIsLeft(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.OnCrash = vm.ActionDestroy
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	domid := startRunning(t, e, c)
	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownWatchdog))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	e.eventuallyNothingLeft(t)

	domid = startRunning(t, e, c)
	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownSuspend))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Shutdown })
	time.Sleep(100 * time.Millisecond)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Shutdown, st.PowerState, "a suspend is left for suspend")
	require.Equal(t, domid, st.DomID)

	id, err := c.Destroy(ctx)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_Check_GuestRebootWithOnRebootDestroy(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.OnReboot = vm.ActionDestroy
	c := e.spawnVM(t, spec, nil)
	domid := startRunning(t, e, c)

	require.NoError(t, e.xs.Write(ctxFor(t), "/local/domain/"+domid.String()+"/control/shutdown", []byte("reboot")))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Check_AnnouncesAnExternalPause(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	e.system.Root.Send(c.PID(), &vm.CheckState{Why: "test"}) // a check that sees Running
	time.Sleep(50 * time.Millisecond)
	seen, err := e.events.Next(ctx, 0)
	require.NoError(t, err)

	require.NoError(t, e.hv.Pause(ctx, domid))
	rep, err := e.events.Next(ctx, seen.Next)
	require.NoError(t, err)
	require.Contains(t, rep.IDs, vm.ObjectID(spec.UUID))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Paused })

	id, err := c.Destroy(ctx)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
