package tasks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// operation stands in for the actor running a task: it fails the task as
// cancelled once its context is cancelled.
func operation(t *testing.T, c Client) (id string, cancels *atomic.Int32) {
	t.Helper()
	opCtx, cancel := context.WithCancel(context.Background())
	cancels = new(atomic.Int32)
	id, err := c.Create(testContext(t), CreateTask{Kind: "VM.shutdown", Cancel: func() {
		cancels.Add(1)
		cancel()
	}})
	require.NoError(t, err)
	go func() {
		<-opCtx.Done()
		_ = c.Fail(context.Background(), id, fmt.Errorf("VM.shutdown: %w", errdefs.ErrCanceled))
	}()
	return id, cancels
}

func TestRegistry_Cancel_CallsTheCancelFuncExactlyOnce(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, cancels := operation(t, c)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := c.Cancel(ctx, id)
			// A cancel that arrives after the operation failed the task finds
			// it finished.
			assert.True(t, err == nil || errdefs.IsInvalid(err), "got %v", err)
		})
	}
	wg.Wait()

	task, err := c.Wait(ctx, id)
	require.NoError(t, err)
	assert.EqualValues(t, 1, cancels.Load())
	assert.Equal(t, Failed, task.State)
	assert.True(t, task.Cancelling)
	assert.Equal(t, "canceled", task.ErrorKind)
	assert.True(t, errdefs.IsCanceled(task.Err()))
}

func TestRegistry_Cancel_Rejected(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	fixed, err := c.Create(ctx, CreateTask{Kind: "VM.stat"})
	require.NoError(t, err)
	err = c.Cancel(ctx, fixed)
	assert.True(t, errdefs.IsInvalid(err), "no cancel func: %v", err)

	var cancels atomic.Int32
	done, err := c.Create(ctx, CreateTask{Kind: "VM.start", Cancel: func() { cancels.Add(1) }})
	require.NoError(t, err)
	require.NoError(t, c.Complete(ctx, done, nil))
	err = c.Cancel(ctx, done)
	assert.True(t, errdefs.IsInvalid(err), "finished: %v", err)
	assert.Zero(t, cancels.Load())
}

func TestRegistry_Cancel_GraceFailsATaskLeftPending(t *testing.T) {
	_, c := newRegistry(t, WithCancelGrace(20*time.Millisecond))
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.migrate", Cancel: func() {}})
	require.NoError(t, err)

	require.NoError(t, c.Cancel(ctx, id))
	task, err := c.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, Failed, task.State)
	assert.True(t, errdefs.IsCanceled(task.Err()))

	err = c.Complete(ctx, id, nil)
	assert.True(t, errdefs.IsInvalid(err), "the late operation finds it finished: %v", err)
}

func TestRegistry_Cancel_PanickingCancelFuncDoesNotCrashTheRegistry(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start", Cancel: func() { panic("bug") }})
	require.NoError(t, err)

	require.NoError(t, c.Cancel(ctx, id))
	task, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, task.Cancelling)
	assert.Equal(t, Pending, task.State)
}
