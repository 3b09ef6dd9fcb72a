package host_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// gatedCreate holds the first Create until release is closed.
type gatedCreate struct {
	hypervisor.Hypervisor
	entered chan struct{}
	release chan struct{}
	once    atomic.Bool
}

func (g *gatedCreate) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	if g.once.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
	}
	return g.Hypervisor.Create(ctx, cfg)
}

func TestHost_RemoveRefusesAVMWhoseStartIsCreatingItsDomain(t *testing.T) {
	e := newEnv(t)
	gate := &gatedCreate{Hypervisor: e.h.Hypervisor(), entered: make(chan struct{}), release: make(chan struct{})}
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: gate,
		Dial: simtest.Dom0Dialer(e.h), Hotplug: e.h.Hotplug().Device(),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	spec := newSpec()
	c, err := hc.AddVM(ctx, spec)
	require.NoError(t, err)

	// The VM reads Halted while its start waits in Create: removing it
	// then would leave the domain the start goes on to make with no VM.
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the start did not reach Create")
	}
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	require.ErrorIs(t, hc.RemoveVM(ctx, spec.UUID), errdefs.ErrBusy)

	close(gate.release)
	task, err := taskClient(t, e, hc).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	id, err = c.Shutdown(ctx, true)
	require.NoError(t, err)
	task, err = taskClient(t, e, hc).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "shutdown: %s", task.Error)
	require.Eventually(t, func() bool { return hc.RemoveVM(ctx, spec.UUID) == nil }, 10*time.Second, tick)
	doms, err := e.h.Hypervisor().ListDomains(ctx)
	require.NoError(t, err)
	require.Len(t, doms, 1, "only dom0 is left")
}
