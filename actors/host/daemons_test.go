package host_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/host"
)

func TestHost_DaemonStatusesAreKeptAndAnnounced(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	evPID, err := hc.Events(ctx)
	require.NoError(t, err)
	batches := events.NewClient(e.system, evPID).Subscribe(ctx, 0)

	e.system.Root.Send(hc.PID(), &host.DaemonChanged{Status: daemons.Status{Name: "stunnel", State: daemons.StateRunning, Pid: 10}})
	e.system.Root.Send(hc.PID(), &host.DaemonChanged{Status: daemons.Status{Name: "ovsdb-server", State: daemons.StateRunning, Pid: 11}})
	e.system.Root.Send(hc.PID(), &host.DaemonChanged{Status: daemons.Status{Name: "stunnel", State: daemons.StateFailed, Restarts: 5}})

	for seen := false; !seen; {
		b, ok := <-batches
		require.True(t, ok, "the stream ended before the announcement")
		seen = slices.Contains(b.IDs, host.DaemonObjectID("stunnel"))
	}
	list, err := hc.Daemons(ctx)
	require.NoError(t, err)
	require.Equal(t, []daemons.Status{
		{Name: "ovsdb-server", State: daemons.StateRunning, Pid: 11},
		{Name: "stunnel", State: daemons.StateFailed, Restarts: 5},
	}, list, "the latest status of each, by name")
}
