package vm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

// stopVM stops the VM actor and waits until it is gone; its domain stays.
func (e *env) stopVM(t *testing.T, c vm.Client) {
	t.Helper()
	require.NoError(t, e.system.Root.StopFuture(c.PID()).Wait())
}

func TestVMActor_Adopt_RunningDomain(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	domid := startRunning(t, e, c)
	e.stopVM(t, c)

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.AdoptDomID = domid })
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && st.DomID == domid && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	require.NoError(t, st.LastError)

	id, err := c.Shutdown(ctxFor(t), false)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Adopt_GoneDomainIsCleanedUp(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	domid := startRunning(t, e, c)
	e.stopVM(t, c)
	require.NoError(t, e.hv.Destroy(ctxFor(t), domid))

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.AdoptDomID = domid })
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Adopt_OthersDomainIsLeft(t *testing.T) {
	e := newEnv(t)
	other := newSpec("sim:linux")
	oc := e.spawnVM(t, other, nil)
	domid := startRunning(t, e, oc)

	c := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) { cfg.AdoptDomID = domid })
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.LastError != nil })
	require.Equal(t, vm.Halted, st.PowerState)
	info, err := e.hv.DomainInfo(ctxFor(t), domid)
	require.NoError(t, err)
	require.False(t, info.Shutdown)

	id, err := oc.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}
