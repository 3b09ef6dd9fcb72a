package host_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
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

func TestHost_DaemonGivenUpOnIsReportedOnTheVMsThatDependOnIt(t *testing.T) {
	e := newEnv(t)
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: e.h.Hotplug().Device(),
		DaemonAffects: func(daemon string, spec vm.Spec) bool {
			return daemon == "ovs-vswitchd" && len(spec.VIFs) > 0
		}}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)

	withVIF, noVIF := newSpec(), newSpec()
	noVIF.VIFs = nil
	vmWith, err := hc.AddVM(ctx, withVIF)
	require.NoError(t, err)
	vmWithout, err := hc.AddVM(ctx, noVIF)
	require.NoError(t, err)
	evPID, err := hc.Events(ctx)
	require.NoError(t, err)
	stream := events.NewClient(e.system, evPID)
	from, err := stream.Barrier(ctx)
	require.NoError(t, err)
	batches := stream.Subscribe(ctx, from.Seq)
	faults := func(c vm.Client) []vm.DaemonFault {
		st, err := c.Stat(ctx)
		require.NoError(t, err)
		return st.DaemonFaults
	}

	e.system.Root.Send(pid, &host.DaemonChanged{Status: daemons.Status{Name: "ovs-vswitchd",
		State: daemons.StateBackoff, Restarts: 4, LastErr: errors.New("exited with status 1")}})
	e.system.Root.Send(pid, &host.DaemonChanged{Status: daemons.Status{Name: "stunnel",
		State: daemons.StateFailed, LastErr: errors.New("stunnel: exited")}})
	e.system.Root.Send(pid, &host.DaemonChanged{Status: daemons.Status{Name: "ovs-vswitchd",
		State: daemons.StateFailed, Restarts: 5, LastErr: errors.New("exited with status 1")}})
	for seen := false; !seen; {
		b, ok := <-batches
		require.True(t, ok, "the stream ended before the VM's announcement")
		seen = slices.Contains(b.IDs, vm.ObjectID(withVIF.UUID))
		require.NotContains(t, b.IDs, vm.ObjectID(noVIF.UUID), "a VM without VIFs does not depend on the switch")
	}
	require.Equal(t, []vm.DaemonFault{{Name: "ovs-vswitchd", Err: "exited with status 1"}}, faults(vmWith),
		"only the daemon given up on that the VM depends on")
	require.Empty(t, faults(vmWithout))

	// Reset: starting is not yet recovered; running is.
	e.system.Root.Send(pid, &host.DaemonChanged{Status: daemons.Status{Name: "ovs-vswitchd", State: daemons.StateStarting}})
	e.system.Root.Send(pid, &host.DaemonChanged{Status: daemons.Status{Name: "ovs-vswitchd", State: daemons.StateRunning, Pid: 42}})
	require.Eventually(t, func() bool { return len(faults(vmWith)) == 0 }, waitFor, tick,
		"the fault ends once the daemon runs again")
}

func TestHost_AddedVMIsAnnounced(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	evPID, err := hc.Events(ctx)
	require.NoError(t, err)
	stream := events.NewClient(e.system, evPID)
	from, err := stream.Barrier(ctx)
	require.NoError(t, err)
	batches := stream.Subscribe(ctx, from.Seq)

	spec := newSpec()
	_, err = hc.AddVM(ctx, spec)
	require.NoError(t, err)
	for seen := false; !seen; {
		b, ok := <-batches
		require.True(t, ok, "the stream ended before the new VM was announced")
		seen = slices.Contains(b.IDs, vm.ObjectID(spec.UUID))
	}
}
