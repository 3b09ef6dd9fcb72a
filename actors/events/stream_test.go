package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// newStream starts an actor system with one stream actor, both torn down when
// the test ends.
func newStream(t *testing.T, opts ...Option) (*actor.ActorSystem, Client) {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	pid := system.Root.Spawn(Props(opts...))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(pid).Wait()
		system.Shutdown()
	})
	return system, NewClient(system, pid)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStream_Next_ReturnsChangesAtOnce(t *testing.T) {
	_, c := newStream(t)
	c.Changed("vm/a")
	c.Changed("vm/b")
	c.Changed("vm/a")

	r, err := c.Next(testContext(t), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"vm/b", "vm/a"}, r.IDs)
	assert.EqualValues(t, 3, r.Next)
}

func TestStream_Get_HeldUntilAChange(t *testing.T) {
	system, c := newStream(t)
	// Both messages come from this goroutine, so the Get is in the mailbox,
	// and held, before the change arrives.
	f := system.Root.RequestFuture(c.PID(), &Get{From: 0, Timeout: time.Minute}, 5*time.Second)
	c.Changed("vm/a")

	res, err := f.Result()
	require.NoError(t, err)
	r := res.(*GetReply)
	assert.Equal(t, []string{"vm/a"}, r.IDs)
	assert.EqualValues(t, 1, r.Next)
}

func TestClient_Next_ReturnsWhenAChangeArrives(t *testing.T) {
	_, c := newStream(t)
	got := make(chan *GetReply, 1)
	go func() {
		r, err := c.WithPollTimeout(time.Minute).Next(context.Background(), 0)
		assert.NoError(t, err)
		got <- r
	}()
	c.Changed("vm/a")

	select {
	case r := <-got:
		assert.Equal(t, []string{"vm/a"}, r.IDs)
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll did not wake on a change")
	}
}

func TestStream_Next_TimesOutEmpty(t *testing.T) {
	_, c := newStream(t)
	c.Changed("vm/a")
	const poll = 50 * time.Millisecond

	start := time.Now()
	r, err := c.WithPollTimeout(poll).Next(testContext(t), 1)
	require.NoError(t, err)
	assert.True(t, r.Empty())
	assert.EqualValues(t, 1, r.Next)
	assert.GreaterOrEqual(t, time.Since(start), poll)
}

func TestStream_Next_ContextEndsFirst(t *testing.T) {
	_, c := newStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := c.WithPollTimeout(time.Minute).Next(ctx, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The stream dropped the abandoned poll and still serves others.
	c.Changed("vm/a")
	r, err := c.Next(testContext(t), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"vm/a"}, r.IDs)
}

func TestStream_Removed_ReportedOnce(t *testing.T) {
	_, c := newStream(t)
	ctx := testContext(t)
	c.Changed("vm/a")
	c.Removed("vm/a")

	r, err := c.Next(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, r.IDs)
	assert.Equal(t, []string{"vm/a"}, r.Removed)

	again, err := c.WithPollTimeout(10*time.Millisecond).Next(ctx, r.Next)
	require.NoError(t, err)
	assert.True(t, again.Empty())
}

func TestStream_Barrier_OrderedAfterEarlierChanges(t *testing.T) {
	_, c := newStream(t)
	ctx := testContext(t)
	c.Changed("vm/a")
	c.Changed("vm/b")
	b, err := c.Barrier(ctx)
	require.NoError(t, err)
	c.Changed("vm/c")

	assert.Equal(t, 1, b.ID)
	assert.EqualValues(t, 3, b.Seq)
	assert.False(t, b.Reached(2))

	r, err := c.Next(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"vm/a", "vm/b", BarrierID(1), "vm/c"}, r.IDs)
	assert.True(t, b.Reached(r.Next))

	b2, err := c.Barrier(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, b2.ID)
	assert.Greater(t, b2.Seq, b.Seq)
}

func TestStream_Bounded_LaggingClientResyncs(t *testing.T) {
	_, c := newStream(t, WithMaxTracked(4))
	ctx := testContext(t)
	c.Changed("vm/a")
	r, err := c.Next(ctx, 0)
	require.NoError(t, err)
	for i := range 10 {
		c.Changed(fmt.Sprintf("vm/%d", i))
	}

	lagging, err := c.Next(ctx, r.Next)
	require.NoError(t, err)
	assert.True(t, lagging.Resync)
	assert.EqualValues(t, 11, lagging.Next)

	caughtUp, err := c.WithPollTimeout(10*time.Millisecond).Next(ctx, lagging.Next)
	require.NoError(t, err)
	assert.True(t, caughtUp.Empty())
}

// TestStream_Concurrent_FollowerCatchesUpAtBarrier has many writers change
// overlapping ids while a follower reads; after a barrier injected once the
// writers are done, the follower has seen every id.
func TestStream_Concurrent_FollowerCatchesUpAtBarrier(t *testing.T) {
	_, c := newStream(t)
	ctx := testContext(t)
	const writers, changes, ids = 16, 200, 50

	follow, stop := context.WithCancel(ctx)
	defer stop()
	batches := c.WithPollTimeout(time.Second).Subscribe(follow, 0)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range changes {
				c.Changed(fmt.Sprintf("vm/%d", (w*changes+i)%ids))
			}
		})
	}
	wg.Wait()
	b, err := c.Barrier(ctx)
	require.NoError(t, err)

	seen := make(map[string]bool)
	for batch := range batches {
		require.False(t, batch.Resync)
		for _, id := range batch.IDs {
			seen[id] = true
		}
		if b.Reached(batch.Next) {
			break
		}
	}
	assert.Len(t, seen, ids+1, "every vm and the barrier")
	assert.True(t, seen[BarrierID(b.ID)])
}

func TestStream_Stopping_AnswersHeldPollsThenUnavailable(t *testing.T) {
	system, c := newStream(t)
	held := system.Root.RequestFuture(c.PID(), &Get{From: 0, Timeout: time.Minute}, 5*time.Second)
	// The mailbox is FIFO: once a later Get is answered the first one is held.
	_, err := system.Root.RequestFuture(c.PID(), &Get{From: 0}, 5*time.Second).Result()
	require.NoError(t, err)

	require.NoError(t, system.Root.StopFuture(c.PID()).Wait())
	res, err := held.Result()
	require.NoError(t, err, "a held poll is answered when the stream stops")
	assert.True(t, res.(*GetReply).Empty())

	_, err = c.Next(testContext(t), 0)
	assert.True(t, errdefs.IsUnavailable(err), "got %v", err)
}
