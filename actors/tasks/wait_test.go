package tasks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestRegistry_Wait_ReturnsOnCompletion(t *testing.T) {
	system, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)
	// Held: the WaitTask is ahead of the completion in the mailbox.
	held := system.Root.RequestFuture(c.PID(), &WaitTask{ID: id}, 5*time.Second)

	require.NoError(t, c.Complete(ctx, id, []byte("ok")))
	res, err := held.Result()
	require.NoError(t, err)
	reply := res.(*TaskReply)
	require.NoError(t, reply.Err)
	assert.Equal(t, Completed, reply.Task.State)

	again, err := c.Wait(ctx, id)
	require.NoError(t, err, "a finished task answers at once")
	assert.Equal(t, "ok", string(again.Result))
}

func TestRegistry_Wait_ReturnsWhenTheContextEnds(t *testing.T) {
	_, c := newRegistry(t)
	id, err := c.Create(testContext(t), CreateTask{Kind: "VM.suspend"})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = c.Wait(ctx, id)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, c.Complete(testContext(t), id, nil), "the registry carries on")
}

func TestRegistry_Stopping_AnswersWaitersUnavailable(t *testing.T) {
	system, c := newRegistry(t)
	id, err := c.Create(testContext(t), CreateTask{Kind: "VM.suspend"})
	require.NoError(t, err)
	held := system.Root.RequestFuture(c.PID(), &WaitTask{ID: id}, 5*time.Second)
	_, err = c.Get(testContext(t), id) // FIFO: the wait is held once this is answered
	require.NoError(t, err)

	require.NoError(t, system.Root.StopFuture(c.PID()).Wait())
	res, err := held.Result()
	require.NoError(t, err)
	assert.True(t, errdefs.IsUnavailable(res.(*TaskReply).Err))

	_, err = c.Get(testContext(t), id)
	assert.True(t, errdefs.IsUnavailable(err), "got %v", err)
}

// TestRegistry_Concurrent runs many operations and clients at once: each
// task is created, advanced, maybe cancelled by several clients, finished by
// its operation, waited for and destroyed.
func TestRegistry_Concurrent(t *testing.T) {
	_, c := newRegistry(t, WithMaxFinished(1_000))
	ctx := testContext(t)
	const workers, perWorker = 16, 40
	var cancelled, cancelCalls atomic.Int32

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				opCtx, stop := context.WithCancel(ctx)
				id, err := c.Create(ctx, CreateTask{
					Kind:    "VM.start",
					Subject: fmt.Sprintf("vm-%d", w),
					Cancel: func() {
						cancelCalls.Add(1)
						stop()
					},
				})
				if !assert.NoError(t, err) {
					stop()
					return
				}
				op := make(chan struct{})
				go func() { // the operation
					defer close(op)
					_ = c.UpdateProgress(ctx, id, 0.5)
					if i%2 == 0 {
						<-opCtx.Done()
						_ = c.Fail(ctx, id, fmt.Errorf("%s: %w", id, errdefs.ErrCanceled))
						return
					}
					_ = c.Complete(ctx, id, nil)
				}()
				if i%2 == 0 {
					cancelled.Add(1)
					var cancels sync.WaitGroup
					for range 1 + rand.IntN(3) {
						cancels.Go(func() { _ = c.Cancel(ctx, id) })
					}
					cancels.Wait()
				}
				task, err := c.Wait(ctx, id)
				assert.NoError(t, err)
				assert.True(t, task.Done())
				<-op
				stop()
				assert.NoError(t, c.Destroy(ctx, id))
			}
		})
	}
	wg.Wait()

	assert.Equal(t, cancelled.Load(), cancelCalls.Load(), "one cancel call per cancelled task")
	left, err := c.List(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, left)
}
