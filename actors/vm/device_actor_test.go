package vm_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/supervisors"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

// panickyHotplug panics on the first Add of a VIF.
type panickyHotplug struct {
	hotplug.Hotplug
	panicked atomic.Bool
}

func (p *panickyHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if d.Class == hotplug.ClassVIF && p.panicked.CompareAndSwap(false, true) {
		panic("hotplug script blew up")
	}
	return p.Hotplug.Add(ctx, d)
}

func TestVMActor_DevicePanicRestartsOnlyThatDevice(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	acc := &supervisors.Accounting{}
	c := e.spawnVM(t, spec, func(cfg *vm.Config) {
		cfg.Hotplug = &panickyHotplug{Hotplug: cfg.Hotplug}
		cfg.DeviceSupervisor = supervisors.New(supervisors.WithAccounting(acc))
	})
	ctx := ctxFor(t)

	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "panicked")
	e.requireNothingLeft(t)

	restarts := map[string]int{}
	for k, n := range acc.Counts() {
		restarts[k.Family] += n
	}
	require.Equal(t, map[string]int{"vif": 1}, restarts)

	// The restarted vif actor plugs the next start's VIF.
	id, err = c.Start(ctx, false)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
