package events

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChangeLog_CoalescesRepeatedChanges(t *testing.T) {
	l := newChangeLog(DefaultMaxTracked)
	for range 1000 {
		l.record("vm/a", false)
	}
	l.record("vm/b", false)

	r := l.since(0)
	assert.Equal(t, []string{"vm/a", "vm/b"}, r.IDs)
	assert.EqualValues(t, 1001, r.Next)
	assert.False(t, r.Resync)
}

func TestChangeLog_SinceReturnsOnlyNewerInChangeOrder(t *testing.T) {
	l := newChangeLog(DefaultMaxTracked)
	l.record("vm/a", false)
	l.record("vm/b", false)
	mark := l.seq
	l.record("vm/c", false)
	l.record("vm/a", false) // a moves after c
	l.record("vbd/b/51712", true)

	r := l.since(mark)
	assert.Equal(t, []string{"vm/c", "vm/a"}, r.IDs)
	assert.Equal(t, []string{"vbd/b/51712"}, r.Removed)
	assert.Equal(t, l.seq, r.Next)

	assert.True(t, l.since(l.seq).Empty(), "nothing after the newest change")
}

func TestChangeLog_RemovedThenChangedIsLiveAgain(t *testing.T) {
	l := newChangeLog(DefaultMaxTracked)
	l.record("vm/a", true)
	l.record("vm/a", false)

	r := l.since(0)
	assert.Equal(t, []string{"vm/a"}, r.IDs)
	assert.Empty(t, r.Removed)
}

func TestChangeLog_BoundDropsOldestAndLaggingClientsResync(t *testing.T) {
	const maxTracked = 10
	l := newChangeLog(maxTracked)
	for i := range 25 {
		l.record(fmt.Sprintf("vm/%d", i), false)
	}
	assert.Len(t, l.byID, maxTracked)
	assert.Equal(t, maxTracked, l.order.Len())
	assert.EqualValues(t, 15, l.floor, "vm/0..vm/14 (seq 1..15) were dropped")

	lagging := l.since(3)
	assert.True(t, lagging.Resync)
	assert.Empty(t, lagging.IDs)
	assert.EqualValues(t, 25, lagging.Next)

	current := l.since(15)
	require.False(t, current.Resync, "a client that saw seq 15 missed nothing")
	assert.Len(t, current.IDs, maxTracked)
}

func TestChangeLog_PositionFromAnotherIncarnationResyncs(t *testing.T) {
	l := newChangeLog(DefaultMaxTracked)
	l.record("vm/a", false)

	r := l.since(500)
	assert.True(t, r.Resync)
	assert.EqualValues(t, 1, r.Next)
	assert.True(t, l.pending(500))
}
