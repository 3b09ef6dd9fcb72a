package guest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

func TestGuestActor_Metrics_ReadsAndChanges(t *testing.T) {
	reads := func() float64 { return telemetrytest.Value(t, "xenactor_guest_reads_total", "result", "ok") }
	changes := func() float64 { return telemetrytest.Value(t, "xenactor_guest_changes_total") }
	reads0, changes0 := reads(), changes()
	s := newMemStore(memKV(5))
	c := spawn(t, guest.Config{XS: s, DomID: 5, VMUUID: "u"}, guest.WithMinInterval(0))
	require.Eventually(t, func() bool { return stats(t, c).Changes == 1 }, eventually, tick)
	// The counters are bumped beside the actor's stats, not before them.
	require.Eventually(t, func() bool { return reads() >= reads0+1 && changes() >= changes0+1 }, eventually, tick)

	r, ch := reads(), changes()
	c.Refresh() // nothing changed: a read, no change
	require.Eventually(t, func() bool { return stats(t, c).Reads == 2 }, eventually, tick)
	require.Eventually(t, func() bool { return reads() >= r+1 }, eventually, tick)
	require.Equal(t, ch, changes(), "a read that found nothing new")
}
