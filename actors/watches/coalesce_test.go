package watches

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCoalescer_SlowConsumer_OnePendingPerDomain(t *testing.T) {
	entered := make(chan NeedsAttention)
	out := make(chan NeedsAttention)
	co := newCoalescer(func(ctx context.Context, n NeedsAttention) {
		if n.DomID == 99 {
			entered <- n // the consumer holds this hand-over while the storm comes
		}
		select {
		case out <- n:
		case <-ctx.Done():
		}
	}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go co.run(ctx)

	co.add(nil, 99, reasonOf(WhyIntroduce))
	<-entered
	sub := co.subscribe(1)
	for i := range 10000 {
		co.add(sub, 1, reasonOf(WhyData))
		co.add(sub, 1, reasonOf(WhyControl))
		co.add(nil, uint32(2+i%3), reasonOf(WhyRelease))
	}
	co.mu.Lock()
	assert.Len(t, co.queue, 4, "one entry per domain")
	assert.Len(t, co.pending, 4)
	co.mu.Unlock()

	got := map[uint32]string{}
	for len(got) < 5 {
		select {
		case n := <-out:
			require.NotContains(t, got, n.DomID, "a second notification for %d", n.DomID)
			got[n.DomID] = n.Why
		case <-time.After(waitTimeout):
			t.Fatalf("only %v", got)
		}
	}
	assert.Equal(t, map[uint32]string{99: WhyIntroduce, 1: "control,data", 2: WhyRelease, 3: WhyRelease, 4: WhyRelease}, got)
}

func TestCoalescer_Cancel_DropsDomainReasonsOnly(t *testing.T) {
	co := newCoalescer(func(context.Context, NeedsAttention) {}, 0)
	sub := co.subscribe(1)
	co.add(sub, 1, reasonOf(WhyData))
	co.add(nil, 1, reasonOf(WhyRelease))
	co.cancel(sub)
	co.add(sub, 1, reasonOf(WhyControl)) // after cancel: ignored

	co.mu.Lock()
	defer co.mu.Unlock()
	n, ok, _ := co.next(time.Now())
	require.True(t, ok)
	assert.Equal(t, NeedsAttention{DomID: 1, Why: WhyRelease}, n)
	_, ok, _ = co.next(time.Now())
	assert.False(t, ok)
}
