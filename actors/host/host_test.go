package host_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/actors/watches"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

type env struct {
	h      *sim.Host
	xs     *xenstore.Client
	store  *statedir.Store
	system *actor.ActorSystem
	hosts  int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h := simtest.NewHost(t)
	xs := simtest.Dom0(t, h)
	store, err := statedir.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	system := actortest.System(t)
	return &env{h: h, xs: xs, store: store, system: system}
}

// hostName returns a new name for a host actor. A host spawned again gets
// a new one: goroutines of the stopped host may still send to its PID, and
// protoactor races when a name is spawned again while messages are
// being sent to it (mailbox.go:94 against mailbox.go:99).
func (e *env) hostName() string {
	e.hosts++
	return "host-" + strconv.Itoa(e.hosts)
}

func (e *env) spawnHost(t *testing.T) host.Client {
	t.Helper()
	dial := simtest.Dom0Dialer(e.h)
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: dial, Hotplug: e.h.Hotplug().Device(),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	return host.NewClient(e.system, pid)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newSpec() vm.Spec {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return vm.Spec{UUID: uuid, Name: "test-" + uuid[:8], Type: hypervisor.DomainTypePV, VCPUs: 1,
		MemoryKiB: 64 << 10, Kernel: "sim:linux", OnShutdown: vm.ActionDestroy,
		VBDs: []vm.VBD{{DevID: 51712, Params: "/dev/loop0"}},
		VIFs: []vm.VIF{{DevID: 0, MAC: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
}

func states(t *testing.T, c host.Client) map[string]host.VMInfo {
	t.Helper()
	list, err := c.ListVMs(ctxFor(t))
	require.NoError(t, err)
	m := make(map[string]host.VMInfo, len(list))
	for _, i := range list {
		m[i.Spec.UUID] = i
	}
	return m
}

func TestHost_AddStartPoweroffRemoveReload(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	pids, err := hc.PIDs(ctx)
	require.NoError(t, err)
	require.NotNil(t, pids.Tasks)
	require.NotNil(t, pids.Events)
	tc := tasks.NewClient(e.system, pids.Tasks)
	wc := watches.NewClient(e.system, pids.Watches)

	a, b := newSpec(), newSpec()
	ac, err := hc.AddVM(ctx, a)
	require.NoError(t, err)
	bc, err := hc.AddVM(ctx, b)
	require.NoError(t, err)
	_, err = hc.AddVM(ctx, a)
	require.ErrorIs(t, err, errdefs.ErrExists)
	_, err = hc.VM(ctx, "no-such-vm")
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	got, err := hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	require.Equal(t, ac.PID(), got.PID())

	for _, c := range []vm.Client{ac, bc} {
		id, err := c.Start(ctx, false)
		require.NoError(t, err)
		task, err := tc.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	}
	list := states(t, hc)
	require.Len(t, list, 2)
	require.Equal(t, vm.Running, list[a.UUID].PowerState)
	require.Equal(t, vm.Running, list[b.UUID].PowerState)
	domA := list[a.UUID].DomID

	// The host learns the domids and watches them.
	require.Eventually(t, func() bool {
		w, err := wc.Watched(ctx)
		return err == nil && slices.Contains(w, uint32(domA)) && slices.Contains(w, uint32(list[b.UUID].DomID))
	}, waitFor, tick)

	// A running VM cannot be removed.
	require.ErrorIs(t, hc.RemoveVM(ctx, a.UUID), errdefs.ErrBusy)

	// The guest powers off: noticed, destroyed (OnShutdown Destroy), Halted.
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+domA.String()+"/control/shutdown", []byte("poweroff")))
	require.Eventually(t, func() bool { return states(t, hc)[a.UUID].PowerState == vm.Halted }, waitFor, tick)
	require.Eventually(t, func() bool {
		_, err := e.h.Hypervisor().DomainInfo(ctx, domA)
		return err != nil
	}, waitFor, tick, "the domain is destroyed")
	require.Eventually(t, func() bool {
		w, err := wc.Watched(ctx)
		return err == nil && !slices.Contains(w, uint32(domA))
	}, waitFor, tick, "a halted VM's domain is no longer watched")

	require.NoError(t, hc.RemoveVM(ctx, a.UUID))
	_, err = hc.VM(ctx, a.UUID)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	require.ErrorIs(t, hc.RemoveVM(ctx, a.UUID), errdefs.ErrNotFound)
	list = states(t, hc)
	require.Len(t, list, 1)
	ids, err := e.store.List(ctx, host.KindVM)
	require.NoError(t, err)
	require.Equal(t, []string{b.UUID}, ids)

	// Stop and restart the host actor (not the simulated host) on the same
	// state directory: the remaining VM is loaded and its running domain
	// adopted.
	domB := list[b.UUID].DomID
	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())
	hc = e.spawnHost(t)
	require.Eventually(t, func() bool {
		l, err := hc.ListVMs(ctx)
		return err == nil && len(l) == 1 && l[0].PowerState == vm.Running
	}, waitFor, tick)
	list = states(t, hc)
	require.Equal(t, b, list[b.UUID].Spec)
	require.NoError(t, list[b.UUID].Err)
	require.Equal(t, domB, list[b.UUID].DomID)
	pids, err = hc.PIDs(ctx)
	require.NoError(t, err)
	tc = tasks.NewClient(e.system, pids.Tasks)
	wc = watches.NewClient(e.system, pids.Watches)
	require.Eventually(t, func() bool {
		w, err := wc.Watched(ctx)
		return err == nil && slices.Contains(w, uint32(domB))
	}, waitFor, tick, "the adopted domain is watched")

	// Shutting it down cleans everything.
	bc, err = hc.VM(ctx, b.UUID)
	require.NoError(t, err)
	id, err := bc.Shutdown(ctx, false)
	require.NoError(t, err)
	task, err := tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "shutdown: %s", task.Error)
	require.Equal(t, vm.Halted, states(t, hc)[b.UUID].PowerState)
	_, err = e.h.Hypervisor().DomainInfo(ctx, domB)
	require.Error(t, err, "the domain is gone")
	e.requireXenstoreEmpty(t)
	require.NoError(t, hc.RemoveVM(ctx, b.UUID))
	ids, err = e.store.List(ctx, host.KindVM)
	require.NoError(t, err)
	require.Empty(t, ids)
}

// requireXenstoreEmpty waits until no VM's xenstore trees are left.
func (e *env) requireXenstoreEmpty(t *testing.T) {
	t.Helper()
	ctx := ctxFor(t)
	empty := func(dir string, want ...string) bool {
		names, err := e.xs.Directory(ctx, dir)
		if errdefs.IsNotFound(err) {
			return len(want) == 0
		}
		return err == nil && slices.Equal(names, want)
	}
	require.Eventually(t, func() bool {
		return empty("/local/domain", "0") && empty("/vm") && empty("/local/domain/0/backend/vbd") &&
			empty("/local/domain/0/backend/vif")
	}, waitFor, tick, "xenstore trees left")
}

func TestHost_LoadedVMWhoseDomainIsGoneIsHalted(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	pids, err := hc.PIDs(ctx)
	require.NoError(t, err)
	tc := tasks.NewClient(e.system, pids.Tasks)
	a := newSpec()
	ac, err := hc.AddVM(ctx, a)
	require.NoError(t, err)
	id, err := ac.Start(ctx, false)
	require.NoError(t, err)
	task, err := tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	domid := states(t, hc)[a.UUID].DomID
	// The record holds the domid once the host has seen it.
	require.Eventually(t, func() bool {
		var rec struct{ DomID uint32 }
		return e.store.Get(ctx, host.KindVM, a.UUID, &rec) == nil && rec.DomID == uint32(domid)
	}, waitFor, tick)

	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())
	require.NoError(t, e.h.Hypervisor().Destroy(ctx, domid))
	hc = e.spawnHost(t)
	require.Eventually(t, func() bool {
		l, err := hc.ListVMs(ctx)
		return err == nil && len(l) == 1
	}, waitFor, tick)
	require.Equal(t, vm.Halted, states(t, hc)[a.UUID].PowerState)
	e.requireXenstoreEmpty(t)
}

func TestHost_RescanChecksEveryVM(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	a := newSpec()
	ac, err := hc.AddVM(ctx, a)
	require.NoError(t, err)
	pids, err := hc.PIDs(ctx)
	require.NoError(t, err)
	// A rescan reaches the VM (a check of a Halted VM is harmless).
	e.system.Root.Send(hc.PID(), &watches.NeedsAttention{DomID: 0, Why: watches.WhyRescan})
	st, err := ac.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	require.NotNil(t, pids.Domains)
	require.Equal(t, pids.Domains.Id+"/"+vm.Name(a.UUID), ac.PID().Id)
}
