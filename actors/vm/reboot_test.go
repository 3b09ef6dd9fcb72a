package vm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

func TestVMActor_Reboot(t *testing.T) {
	for _, hard := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "hard"}[hard]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			c := e.spawnVM(t, newSpec("sim:linux"), nil)
			ctx := ctxFor(t)
			domid := startRunning(t, e, c)

			id, err := c.Reboot(ctx, hard)
			e.succeed(t, id, err)
			st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
				return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
			})
			require.NotEqual(t, domid, st.DomID)
			_, err = e.hv.DomainInfo(ctx, domid)
			require.Error(t, err, "the old domain is gone")

			id, err = c.Shutdown(ctx, false)
			e.succeed(t, id, err)
			e.requireNothingLeft(t)
		})
	}
}

func TestVMActor_Reboot_NoAck(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:hostile-noack"), func(cfg *vm.Config) { cfg.AckTimeout = 300 * time.Millisecond })
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	before, err := c.Stat(ctx)
	require.NoError(t, err)

	id, err = c.Reboot(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "did not acknowledge")
	require.Equal(t, "timeout", task.ErrorKind)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	require.Equal(t, before.DomID, st.DomID)

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_HardShutdownPreemptsCleanReboot(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:hostile-noack"), func(cfg *vm.Config) { cfg.AckTimeout = time.Minute })
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)

	reboot, err := c.Reboot(ctx, false)
	require.NoError(t, err)
	hard, err := c.Shutdown(ctx, true)
	require.NoError(t, err)
	task := e.wait(t, reboot)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	e.succeed(t, hard, nil)
	e.requireNothingLeft(t)
}
