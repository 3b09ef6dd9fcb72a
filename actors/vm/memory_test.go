package vm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

func TestVMActor_SetMemoryTarget(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	home := "/local/domain/" + domid.String()
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctx, home+"/control/feature-balloon")
		return err == nil && string(v) == "1"
	}, waitFor, tick, "the agent publishes feature-balloon")

	id, err := c.SetMemoryTarget(ctx, guestMemoryKiB/2)
	e.succeed(t, id, err)
	v, err := e.xs.Read(ctx, home+"/memory/target")
	require.NoError(t, err)
	require.Equal(t, "32768", string(v))
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctx, home+"/data/meminfo_total")
		return err == nil && string(v) == "32768"
	}, waitFor, tick, "the agent reports the new target")

	id, err = c.SetMemoryTarget(ctx, guestMemoryKiB*2)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "invalid", task.ErrorKind, task.Error)

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_SetMemoryTarget_NoBalloon(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:hvm-nopv")
	spec.Type = hypervisor.DomainTypeHVM
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)

	id, err = c.SetMemoryTarget(ctx, guestMemoryKiB/2)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "guest has no balloon driver")

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_SetVCPUs(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.VCPUs = 4
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	avail := func() []string {
		var out []string
		for i := range 4 {
			v, err := e.xs.Read(ctx, "/local/domain/"+domid.String()+"/cpu/"+string(rune('0'+i))+"/availability")
			require.NoError(t, err)
			out = append(out, string(v))
		}
		return out
	}
	require.Equal(t, []string{"online", "online", "online", "online"}, avail())

	id, err := c.SetVCPUs(ctx, 2)
	e.succeed(t, id, err)
	require.Equal(t, []string{"online", "online", "offline", "offline"}, avail())

	for _, n := range []int{0, 5} {
		id, err = c.SetVCPUs(ctx, n)
		require.NoError(t, err)
		task := e.wait(t, id)
		require.Equal(t, tasks.Failed, task.State)
		require.Equal(t, "invalid", task.ErrorKind, task.Error)
	}
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
