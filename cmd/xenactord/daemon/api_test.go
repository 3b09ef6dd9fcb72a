package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// TestDaemon_API drives the embedded host through the api actor, in
// process: host info, a VM created, started, suspended to the state
// directory, resumed and shut down.
func TestDaemon_API(t *testing.T) {
	runDir := shortDir(t)
	stateDir := filepath.Join(runDir, "state")
	d := start(t, daemon.Config{StateDir: stateDir, RunDir: runDir, HostMemoryMiB: 1024})
	require.NotNil(t, d.API())
	require.Equal(t, api.Name, d.API().Id)
	c := client.New(client.InProcess(d.System(), d.API()))
	ctx := ctxFor(t)

	info, err := c.HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "sim", info.Hypervisor)
	require.EqualValues(t, 1024<<10, info.MemoryTotalKib)
	require.Less(t, info.MemoryFreeKib, info.MemoryTotalKib, "dom0 holds memory")
	free := info.MemoryFreeKib
	require.NotZero(t, info.StartedUnixNano)

	spec := newSpec(0)
	p := &messages.VMSpec{Uuid: spec.UUID, Name: spec.Name, Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1,
		MemoryKib: spec.MemoryKiB, Kernel: spec.Kernel, OnShutdown: messages.Action_ACTION_DESTROY,
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}}}
	require.NoError(t, c.CreateVM(ctx, p))
	task, err := c.StartVM(ctx, spec.UUID, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	info, err = c.HostInfo(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, info.VmsRunning)
	require.Equal(t, free-spec.MemoryKiB, info.MemoryFreeKib)

	// A suspend without a path lands in the state directory.
	require.Eventually(t, func() bool {
		st, err := c.StatVM(ctx, spec.UUID)
		return err == nil && st.Guest != nil && strings.Contains(strings.Join(st.Guest.Features, ","), "suspend")
	}, waitFor, tick)
	task, err = c.SuspendVM(ctx, spec.UUID, "")
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(stateDir, "suspend", spec.UUID+".img"))
	require.NoError(t, err)
	task, err = c.ResumeVM(ctx, spec.UUID, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)

	task, err = c.ShutdownVM(ctx, spec.UUID, true)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	_, err = c.StatVM(ctx, "00000000-0000-4000-8000-000000000000")
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	// Once the daemon stops, calls fail rather than hang.
	require.NoError(t, d.Stop())
	_, err = c.HostInfo(ctx)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
}
