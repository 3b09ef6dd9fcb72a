package vm_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

const xvdb = 51728

func deviceStatus(st *vm.VMStatus, class string, devid int) (vm.DeviceStatus, bool) {
	for _, d := range st.Devices {
		if d.Class == class && d.DevID == devid {
			return d, true
		}
	}
	return vm.DeviceStatus{}, false
}

func (e *env) exists(t *testing.T, path string) bool {
	t.Helper()
	ok, err := e.xs.Exists(ctxFor(t), path)
	require.NoError(t, err)
	return ok
}

func vbdPaths(domid hypervisor.DomID, devid int) (be, fe string) {
	d, id := domid.String(), strconv.Itoa(devid)
	return "/local/domain/0/backend/vbd/" + d + "/" + id, "/local/domain/" + d + "/device/vbd/" + id
}

func TestVMActor_HotplugVBD(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)

	id, err := c.PlugVBD(ctx, vm.VBD{DevID: xvdb, Params: "/dev/loop1"})
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		d, ok := deviceStatus(st, "vbd", xvdb)
		return len(st.Devices) == 3 && ok && d.BackendState == xenbus.StateConnected &&
			d.FrontendState == xenbus.StateConnected && allConnected(st)
	})

	id, err = c.PlugVBD(ctx, vm.VBD{DevID: xvdb, Params: "/dev/loop2"})
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "exists", task.ErrorKind, task.Error)

	id, err = c.UnplugVBD(ctx, xvdb, false)
	e.succeed(t, id, err)
	be, fe := vbdPaths(domid, xvdb)
	require.False(t, e.exists(t, be))
	require.False(t, e.exists(t, fe))
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Len(t, st.Devices, 2)
	require.True(t, allConnected(st))

	id, err = c.UnplugVBD(ctx, xvdb, false)
	require.NoError(t, err)
	task = e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "not_found", task.ErrorKind, task.Error)

	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func allConnected(st *vm.VMStatus) bool {
	for _, d := range st.Devices {
		if d.BackendState != xenbus.StateConnected || d.FrontendState != xenbus.StateConnected {
			return false
		}
	}
	return true
}

func TestVMActor_HotplugVBD_ForceUnplugHungFrontend(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) { cfg.UnplugTimeout = 300 * time.Millisecond })
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)

	e.h.Faults().SetFrontendHang(true)
	id, err := c.PlugVBD(ctx, vm.VBD{DevID: xvdb, Params: "/dev/loop1"})
	e.succeed(t, id, err)
	be, fe := vbdPaths(domid, xvdb)
	require.True(t, e.exists(t, be))

	id, err = c.UnplugVBD(ctx, xvdb, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "timeout", task.ErrorKind, task.Error)
	require.Contains(t, task.Error, "did not close")
	require.True(t, e.exists(t, be), "a failed clean unplug tears nothing down")
	require.True(t, e.exists(t, fe))

	id, err = c.UnplugVBD(ctx, xvdb, true)
	e.succeed(t, id, err)
	require.False(t, e.exists(t, be))
	require.False(t, e.exists(t, fe))
	e.h.Faults().SetFrontendHang(false)

	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Len(t, st.Devices, 2)
	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_HotplugVIF(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	startRunning(t, e, c)

	id, err := c.PlugVIF(ctx, vm.VIF{DevID: 1, MAC: "00:16:3e:00:00:02", Bridge: "xenbr0"})
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return len(st.Devices) == 3 && allConnected(st) })
	id, err = c.UnplugVIF(ctx, 1, false)
	e.succeed(t, id, err)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Len(t, st.Devices, 2)

	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
