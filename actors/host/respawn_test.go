package host_test

import (
	"context"
	"fmt"
	"strings"
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
	"github.com/xenactor/xenactor/supervisors"
)

// spawnPanickyHost spawns a host whose actor of VM uuid panics on a
// StatVM while *panics is above zero (counting it down, or for ever when
// forever): the panic's kind (invalid) makes its supervisor stop it at
// once, as one given up on after too many restarts.
func (e *env) spawnPanickyHost(t *testing.T, uuid string, panics *atomic.Int64, forever bool, maxRespawns int) host.Client {
	t.Helper()
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: e.h.Hotplug().Device(), MaxRespawns: maxRespawns,
		RespawnBackoff: supervisors.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		TuneVM: func(c *vm.Config) {
			c.UnplugTimeout = 2 * time.Second
			if c.Spec.UUID != uuid {
				return
			}
			vm.OnReceive(c, func(msg any) {
				if _, ok := msg.(*vm.StatVM); !ok {
					return
				}
				if forever && panics.Load() > 0 || panics.Add(-1) >= 0 {
					panic(fmt.Errorf("injected fault: %w", errdefs.ErrInvalid))
				}
			})
		}}), e.hostName())
	require.NoError(t, err)
	return host.NewClient(e.system, pid)
}

func TestHost_VMActorStoppedByItsSupervisorIsRespawned(t *testing.T) {
	e := newEnv(t)
	spec := newSpec()
	var panics atomic.Int64
	hc := e.spawnPanickyHost(t, spec.UUID, &panics, false, 0)
	domid := startVM(t, e, hc, spec)

	panics.Store(1)
	c, err := hc.VM(ctxFor(t), spec.UUID)
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctxFor(t), 100*time.Millisecond)
	defer cancel()
	_, _ = c.Stat(sctx) // the actor panics and is stopped; nothing answers
	require.Eventually(t, func() bool { return panics.Load() < 0 }, waitFor, tick, "the actor did not panic")

	// A new actor adopts the domain, which runs on: the VM is Running.
	require.Eventually(t, func() bool {
		st := states(t, hc)[spec.UUID]
		return st.Err == nil && st.PowerState == vm.Running && st.DomID == domid
	}, waitFor, tick)
	c, err = hc.VM(ctxFor(t), spec.UUID)
	require.NoError(t, err)
	ctx := ctxFor(t)
	id, err := c.Shutdown(ctx, true)
	require.NoError(t, err)
	task, err := taskClient(t, e, hc).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "hard shutdown: %s", task.Error)
	require.NoError(t, hc.RemoveVM(ctx, spec.UUID))
	e.requireXenstoreEmpty(t)
}

func TestHost_VMGivenUpOnIsReportedAndCanBeRemoved(t *testing.T) {
	e := newEnv(t)
	spec, other := newSpec(), newSpec()
	var panics atomic.Int64
	hc := e.spawnPanickyHost(t, spec.UUID, &panics, true, 2)
	domid := startVM(t, e, hc, spec)
	otherDom := startVM(t, e, hc, other)

	panics.Store(1)
	c, err := hc.VM(ctxFor(t), spec.UUID)
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctxFor(t), 100*time.Millisecond)
	defer cancel()
	_, _ = c.Stat(sctx)
	// Each respawned actor panics at the host's first StatVM: after two
	// respawns the host gives up, and says so.
	require.Eventually(t, func() bool {
		st := states(t, hc)[spec.UUID]
		return st.Err != nil && errdefs.IsUnavailable(st.Err) &&
			strings.Contains(st.Err.Error(), "given up on; remove the VM")
	}, waitFor, tick)
	_, err = hc.VM(ctxFor(t), spec.UUID)
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
	info, err := e.h.Hypervisor().DomainInfo(ctxFor(t), domid)
	require.NoError(t, err, "the domain runs on, unmanaged")
	require.False(t, info.Dying)

	// The removal destroys its domain and its trees; the other VM is not touched.
	require.NoError(t, hc.RemoveVM(ctxFor(t), spec.UUID))
	_, err = e.h.Hypervisor().DomainInfo(ctxFor(t), domid)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	list := states(t, hc)
	require.NotContains(t, list, spec.UUID)
	require.Equal(t, vm.Running, list[other.UUID].PowerState)
	require.Equal(t, otherDom, list[other.UUID].DomID)
	doms, err := e.h.Hypervisor().ListDomains(ctxFor(t))
	require.NoError(t, err)
	require.Len(t, doms, 2)
	for _, d := range doms {
		require.Contains(t, []hypervisor.DomID{hypervisor.Dom0, otherDom}, d.ID)
	}
	_, err = e.xs.Read(ctxFor(t), "/local/domain/"+domid.String()+"/domid")
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	_, err = e.xs.Read(ctxFor(t), "/vm/"+spec.UUID+"/uuid")
	require.ErrorIs(t, err, errdefs.ErrNotFound)
}
