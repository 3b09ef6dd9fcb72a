package vm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
)

func TestVMActor_HardShutdownPreemptsClean(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:hostile-noack")
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.AckTimeout = time.Minute })
	ctx := ctxFor(t)

	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	clean, err := c.Shutdown(ctx, false)
	require.NoError(t, err)
	queued, err := c.Shutdown(ctx, false) // waits behind the first
	require.NoError(t, err)
	hard, err := c.Shutdown(ctx, true)
	require.NoError(t, err)

	for _, id := range []string{clean, queued} {
		task := e.wait(t, id)
		require.Equal(t, tasks.Failed, task.State)
		require.Equal(t, "canceled", task.ErrorKind, task.Error)
	}
	e.succeed(t, hard, nil)
	e.requireNothingLeft(t)
}

func TestVMActor_OperationsRunInOrder(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	// Sent at once: each waits for the one before it.
	var ids []string
	for _, send := range []func() (string, error){
		func() (string, error) { return c.Start(ctx, true) },
		func() (string, error) { return c.Unpause(ctx) },
		func() (string, error) { return c.Pause(ctx) },
		func() (string, error) { return c.Destroy(ctx) },
	} {
		id, err := send()
		require.NoError(t, err)
		ids = append(ids, id)
	}
	var finished []time.Time
	for _, id := range ids {
		finished = append(finished, e.succeed(t, id, nil).Finished)
	}
	require.True(t, slices.IsSortedFunc(finished, func(a, b time.Time) int { return a.Compare(b) }))
	e.requireNothingLeft(t)

	// A halted VM refuses what needs a domain.
	id, err := c.Unpause(ctx)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "invalid", task.ErrorKind)
}

func TestVMActor_AnnouncesChanges(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	id, err := c.Start(ctx, true)
	e.succeed(t, id, err)
	reply, err := e.events.WithPollTimeout(time.Second).Next(ctx, 0)
	require.NoError(t, err)
	require.Contains(t, reply.IDs, vm.ObjectID(spec.UUID))
	require.Contains(t, reply.IDs, tasks.ObjectID(id))

	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_CancelQueuedOperation(t *testing.T) {
	e := newEnv(t)
	e.h.Faults().SetBackendDelay(200 * time.Millisecond)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)

	start, err := c.Start(ctx, true)
	require.NoError(t, err)
	unpause, err := c.Unpause(ctx)
	require.NoError(t, err)
	require.NoError(t, e.tasks.Cancel(ctx, unpause))
	task := e.wait(t, unpause)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)

	// The start goes on, and the VM stays paused.
	e.succeed(t, start, nil)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Paused, st.PowerState)

	e.h.Faults().SetBackendDelay(0)
	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
