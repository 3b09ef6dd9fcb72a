package tasks

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// newSystem starts an actor system that is shut down when the test ends.
func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	system := actortest.System(t)
	return system
}

// spawn starts props in system and stops it when the test ends.
func spawn(t *testing.T, system *actor.ActorSystem, props *actor.Props) *actor.PID {
	t.Helper()
	pid := system.Root.Spawn(props)
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	return pid
}

// newRegistry starts a system with one registry actor.
func newRegistry(t *testing.T, opts ...Option) (*actor.ActorSystem, Client) {
	t.Helper()
	system := newSystem(t)
	return system, NewClient(system, spawn(t, system, Props(opts...)))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRegistry_Create_ReturnsDistinctPendingTasks(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)

	a, err := c.Create(ctx, CreateTask{Kind: "VM.start", Subject: "vm-1"})
	require.NoError(t, err)
	b, err := c.Create(ctx, CreateTask{Kind: "VM.start", Subject: "vm-1"})
	require.NoError(t, err)
	assert.NotEqual(t, a, b)

	task, err := c.Get(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, a, task.ID)
	assert.Equal(t, "VM.start", task.Kind)
	assert.Equal(t, "vm-1", task.Subject)
	assert.Equal(t, Pending, task.State)
	assert.False(t, task.Done())
	assert.False(t, task.Created.IsZero())
	assert.True(t, task.Finished.IsZero())
	assert.NoError(t, task.Err())
}

func TestRegistry_Create_Rejected(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	_, err := c.Create(ctx, CreateTask{ID: "task-restored", Kind: "VM.migrate"})
	require.NoError(t, err)

	_, err = c.Create(ctx, CreateTask{Subject: "vm-1"})
	assert.True(t, errdefs.IsInvalid(err), "no kind: %v", err)
	_, err = c.Create(ctx, CreateTask{ID: "task-restored", Kind: "VM.start"})
	assert.True(t, errdefs.IsExists(err), "taken id: %v", err)
	assert.ErrorContains(t, err, "task-restored")
}

func TestRegistry_Create_FreshIDsSkipRestoredOnes(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	_, err := c.Create(ctx, CreateTask{ID: "task-2", Kind: "VM.start"})
	require.NoError(t, err)

	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)
	assert.NotEqual(t, "task-2", id)
}

func TestRegistry_UnknownIDIsNotFound(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	const id = "task-404"

	calls := map[string]func() error{
		"Get":            func() error { _, err := c.Get(ctx, id); return err },
		"UpdateProgress": func() error { return c.UpdateProgress(ctx, id, 0.5) },
		"Complete":       func() error { return c.Complete(ctx, id, nil) },
		"Fail":           func() error { return c.Fail(ctx, id, errdefs.ErrBusy) },
		"Cancel":         func() error { return c.Cancel(ctx, id) },
		"Destroy":        func() error { return c.Destroy(ctx, id) },
		"Wait":           func() error { _, err := c.Wait(ctx, id); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			assert.True(t, errdefs.IsNotFound(err), "got %v", err)
			assert.ErrorContains(t, err, id)
		})
	}
}

func TestRegistry_UpdateProgress(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)

	require.NoError(t, c.UpdateProgress(ctx, id, 0.5))
	task, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.InDelta(t, 0.5, task.Progress, 1e-9)

	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		err := c.UpdateProgress(ctx, id, bad)
		assert.True(t, errdefs.IsInvalid(err), "progress %v: %v", bad, err)
	}
}

func TestRegistry_UpdateProgressDetail(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.migrate"})
	require.NoError(t, err)

	detail := map[string]string{"bytes_sent": "4096"}
	require.NoError(t, c.UpdateProgressDetail(ctx, id, 0.25, detail))
	detail["bytes_sent"] = "mutated by the caller"
	task, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"bytes_sent": "4096"}, task.Detail, "the registry keeps a copy")

	require.NoError(t, c.UpdateProgress(ctx, id, 0.5))
	task, err = c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "4096", task.Detail["bytes_sent"], "no detail keeps the last one")

	require.NoError(t, c.UpdateProgressDetail(ctx, id, 0.5, map[string]string{"bytes_sent": "8192"}))
	require.NoError(t, c.Complete(ctx, id, nil))
	task, err = c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "8192", task.Detail["bytes_sent"], "the last detail stays once done")
}

func TestRegistry_Complete(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)

	require.NoError(t, c.Complete(ctx, id, []byte(`{"domid":7}`)))
	task, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, Completed, task.State)
	assert.Equal(t, `{"domid":7}`, string(task.Result))
	assert.Equal(t, 1.0, task.Progress)
	assert.False(t, task.Finished.IsZero())
	assert.Equal(t, task.Finished.Sub(task.Created), task.Duration)
	assert.NoError(t, task.Err())

	for name, err := range map[string]error{
		"complete again": c.Complete(ctx, id, nil),
		"fail":           c.Fail(ctx, id, errdefs.ErrBusy),
		"progress":       c.UpdateProgress(ctx, id, 0.2),
	} {
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
}

func TestRegistry_Fail_KeepsTheErrdefsKind(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VBD.plug"})
	require.NoError(t, err)

	cause := fmt.Errorf("vbd 51712: backend: %w", errdefs.ErrTimeout)
	require.NoError(t, c.Fail(ctx, id, cause))
	task, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, Failed, task.State)
	assert.Equal(t, "timeout", task.ErrorKind)
	assert.Equal(t, cause.Error(), task.Error)
	assert.True(t, errdefs.IsTimeout(task.Err()))
	assert.EqualError(t, task.Err(), cause.Error())

	assert.True(t, errdefs.IsInvalid(c.Fail(ctx, "task-x", nil)), "a failure needs an error")
}

func TestRegistry_Destroy(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)

	err = c.Destroy(ctx, id)
	assert.True(t, errdefs.IsBusy(err), "a pending task stays: %v", err)

	require.NoError(t, c.Complete(ctx, id, nil))
	require.NoError(t, c.Destroy(ctx, id))
	_, err = c.Get(ctx, id)
	assert.True(t, errdefs.IsNotFound(err))
}

func TestRegistry_List_BySubjectOldestFirst(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	var ofVM1 []string
	for i := range 6 {
		subject := fmt.Sprintf("vm-%d", i%2)
		id, err := c.Create(ctx, CreateTask{Kind: "VM.start", Subject: subject})
		require.NoError(t, err)
		if subject == "vm-1" {
			ofVM1 = append(ofVM1, id)
		}
	}

	all, err := c.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, all, 6)

	mine, err := c.List(ctx, "vm-1")
	require.NoError(t, err)
	var ids []string
	for _, task := range mine {
		ids = append(ids, task.ID)
	}
	assert.Equal(t, ofVM1, ids)
}

func TestRegistry_FailInterrupted_FailsOnlyPendingTasks(t *testing.T) {
	_, c := newRegistry(t)
	ctx := testContext(t)
	done, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)
	require.NoError(t, c.Complete(ctx, done, nil))
	var pending []string
	for range 3 {
		id, err := c.Create(ctx, CreateTask{ID: fmt.Sprintf("restored-%d", len(pending)), Kind: "VM.migrate"})
		require.NoError(t, err)
		pending = append(pending, id)
	}

	failed, err := c.FailInterrupted(ctx, "xenactord restarted")
	require.NoError(t, err)
	assert.Equal(t, pending, failed)
	for _, id := range pending {
		task, err := c.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, Failed, task.State)
		assert.True(t, errdefs.IsUnavailable(task.Err()))
		assert.Contains(t, task.Error, "xenactord restarted")
	}
	task, err := c.Get(ctx, done)
	require.NoError(t, err)
	assert.Equal(t, Completed, task.State)
}

func TestRegistry_Bounded_OldestFinishedDestroyedFirst(t *testing.T) {
	_, c := newRegistry(t, WithMaxFinished(3))
	ctx := testContext(t)
	running, err := c.Create(ctx, CreateTask{Kind: "VM.suspend"})
	require.NoError(t, err)
	var finished []string
	for range 10 {
		id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
		require.NoError(t, err)
		require.NoError(t, c.Complete(ctx, id, nil))
		finished = append(finished, id)
	}

	all, err := c.List(ctx, "")
	require.NoError(t, err)
	var ids []string
	for _, task := range all {
		ids = append(ids, task.ID)
	}
	assert.Equal(t, append([]string{running}, finished[7:]...), ids, "pending tasks are never destroyed")
}

func TestRegistry_AnnouncesChangesToTheEventStream(t *testing.T) {
	system := newSystem(t)
	stream := events.NewClient(system, spawn(t, system, events.Props()))
	c := NewClient(system, spawn(t, system, Props(WithEvents(stream.PID()))))
	ctx := testContext(t)

	// The registry announces a change before it answers the command, so the
	// announcement is in the stream before the next Get.
	id, err := c.Create(ctx, CreateTask{Kind: "VM.start"})
	require.NoError(t, err)
	require.NoError(t, c.UpdateProgress(ctx, id, 0.3))
	batch, err := stream.Next(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{ObjectID(id)}, batch.IDs, "two changes, coalesced")

	require.NoError(t, c.Complete(ctx, id, nil))
	require.NoError(t, c.Destroy(ctx, id))
	batch, err = stream.Next(ctx, batch.Next)
	require.NoError(t, err)
	assert.Empty(t, batch.IDs)
	assert.Equal(t, []string{ObjectID(id)}, batch.Removed)
}
