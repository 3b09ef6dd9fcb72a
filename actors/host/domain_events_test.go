package host_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// countingHV counts the DomainInfo calls of one VM actor: each check of its
// state makes one.
type countingHV struct {
	hypervisor.Hypervisor
	n *atomic.Int64
}

func (c countingHV) DomainInfo(ctx context.Context, id hypervisor.DomID) (hypervisor.DomainInfo, error) {
	c.n.Add(1)
	return c.Hypervisor.DomainInfo(ctx, id)
}

// domainInfoCounts counts DomainInfo calls per VM.
type domainInfoCounts struct {
	mu sync.Mutex
	n  map[string]*atomic.Int64
}

func (d *domainInfoCounts) tune(c *vm.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := &atomic.Int64{}
	d.n[c.Spec.UUID] = n
	c.Hypervisor = countingHV{Hypervisor: c.Hypervisor, n: n}
	c.UnplugTimeout = 2 * time.Second
}

func (d *domainInfoCounts) snapshot() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]int64, len(d.n))
	for uuid, n := range d.n {
		m[uuid] = n.Load()
	}
	return m
}

// TestHost_DomainEventChecksOnlyItsVM: with the xenstore watches down, so
// that only the hypervisor's domain events tell of a change, a guest
// poweroff and a guest crash among several running VMs are handled
// (OnShutdown destroy, OnCrash restart), and no other VM checks its
// domain.
func TestHost_DomainEventChecksOnlyItsVM(t *testing.T) {
	e := newEnv(t)
	counts := &domainInfoCounts{n: make(map[string]*atomic.Int64)}
	noWatches := func(context.Context) (*xenstore.Client, error) {
		return nil, errors.New("the watches are down in this test")
	}
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Xenstore: e.xs, Dial: noWatches, Hotplug: e.h.Hotplug().Device(), TuneVM: counts.tune}), "host")
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	pids, err := hc.PIDs(ctx)
	require.NoError(t, err)
	tc := tasks.NewClient(e.system, pids.Tasks)

	specs := make([]vm.Spec, 6)
	clients := make([]vm.Client, len(specs))
	for i := range specs {
		specs[i] = newSpec()
		specs[i].OnCrash = vm.ActionRestart
		c, err := hc.AddVM(ctx, specs[i])
		require.NoError(t, err)
		clients[i] = c
		id, err := c.Start(ctx, false)
		require.NoError(t, err)
		task, err := tc.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	}
	off, crash := specs[0].UUID, specs[1].UUID
	list := states(t, hc)
	for _, s := range specs {
		require.Equal(t, vm.Running, list[s.UUID].PowerState)
	}
	// Let the checks the starts caused (their domains seen for the first
	// time) finish. From here on, only the two VMs concerned are asked for
	// their status: a StatVM reads DomainInfo too.
	var before map[string]int64
	require.Eventually(t, func() bool {
		prev := before
		before = counts.snapshot()
		return maps.Equal(prev, before)
	}, waitFor, 100*time.Millisecond)

	// The guest of one VM powers off: its domain is destroyed.
	domOff := list[off].DomID
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+domOff.String()+"/control/shutdown", []byte("poweroff")))
	require.Eventually(t, func() bool {
		st, err := clients[0].Stat(ctx)
		return err == nil && st.PowerState == vm.Halted
	}, waitFor, tick)
	_, err = e.h.Hypervisor().DomainInfo(ctx, domOff)
	require.Error(t, err, "the domain is destroyed")

	// The guest of another crashes: it is restarted in a new domain.
	domCrash := list[crash].DomID
	require.NoError(t, e.h.Sim().GuestShutdown(domCrash, hypervisor.ShutdownCrash))
	require.Eventually(t, func() bool {
		st, err := clients[1].Stat(ctx)
		return err == nil && st.PowerState == vm.Running && st.DomID != domCrash
	}, waitFor, tick)

	after := counts.snapshot()
	require.Greater(t, after[off], before[off], "the powered-off VM checked its domain")
	require.Greater(t, after[crash], before[crash], "the crashed VM checked its domain")
	for _, s := range specs[2:] {
		require.Equal(t, before[s.UUID], after[s.UUID], "VM %s was not concerned but checked its domain", s.UUID)
	}
}
