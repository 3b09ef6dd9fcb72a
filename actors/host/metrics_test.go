package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

func TestHost_Metrics_VMsByPowerState(t *testing.T) {
	power := func(state string) float64 {
		return telemetrytest.Value(t, "xenactor_vm_power_state_vms", "state", state)
	}
	halted, running := power("Halted"), power("Running")
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	pids, err := hc.PIDs(ctx)
	require.NoError(t, err)
	tc := tasks.NewClient(e.system, pids.Tasks)
	wait := func(id string, err error) {
		t.Helper()
		require.NoError(t, err)
		task, err := tc.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tasks.Completed, task.State, task.Error)
	}

	spec := newSpec()
	c, err := hc.AddVM(ctx, spec)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return power("Halted") == halted+1 }, waitFor, tick)

	wait(c.Start(ctx, false))
	require.Eventually(t, func() bool { return power("Running") == running+1 && power("Halted") == halted },
		waitFor, tick)

	wait(c.Shutdown(ctx, true))
	require.Eventually(t, func() bool { return power("Running") == running && power("Halted") == halted+1 },
		waitFor, tick)

	require.NoError(t, hc.RemoveVM(ctx, spec.UUID))
	require.Equal(t, halted, power("Halted"), "a removed VM is not counted")

	// A host that stops takes its VMs out of the gauge.
	_, err = hc.AddVM(ctx, newSpec())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return power("Halted") == halted+1 }, waitFor, tick)
	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())
	require.Equal(t, halted, power("Halted"))
}
