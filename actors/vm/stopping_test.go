package vm_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// stopAfterStart makes the hook queue a StartVM, then stop the actor: the
// stop is handled first, and the StartVM reaches the actor while it waits
// for its device actors to stop.
type stopAfterStart struct{}

func TestVMActor_CommandReachingAStoppingActorLeavesNoPendingTask(t *testing.T) {
	e := newEnv(t)
	futures := make(chan *actor.Future, 1)
	var c vm.Client
	c = e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) {
		vm.OnReceive(cfg, func(msg any) {
			if _, ok := msg.(*stopAfterStart); ok {
				futures <- e.system.Root.RequestFuture(c.PID(), &vm.StartVM{}, waitFor)
				e.system.Root.Stop(c.PID())
			}
		})
	})
	e.system.Root.Send(c.PID(), &stopAfterStart{})
	res, err := (<-futures).Result()
	if err != nil {
		return // processed once the actor was gone: a dead letter
	}
	reply, ok := res.(*vm.OperationReply)
	require.True(t, ok, "reply %T", res)
	if reply.Err != nil {
		require.ErrorIs(t, reply.Err, errdefs.ErrUnavailable)
		return
	}
	// A task was made: it must end.
	require.Eventually(t, func() bool {
		task, err := e.tasks.Get(ctxFor(t), reply.TaskID)
		return err == nil && task.State != tasks.Pending
	}, waitFor, 10*time.Millisecond, "the task of a command that reached the stopping actor stays pending")
}
