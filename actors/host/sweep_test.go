package host_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// dropOnDestroy cuts every xenstored connection (and refuses new ones)
// when armed, just before a domain's destroy: the teardown's removals that
// follow meet a dropped connection.
type dropOnDestroy struct {
	hypervisor.Hypervisor
	cs        *conns
	armed     atomic.Bool
	destroyed chan struct{}
}

func (d *dropOnDestroy) Destroy(ctx context.Context, id hypervisor.DomID) error {
	if d.armed.CompareAndSwap(true, false) {
		d.cs.cut()
		defer close(d.destroyed)
	}
	return d.Hypervisor.Destroy(ctx, id)
}

// requireNoTreesOf requires that xenstore soon holds no home and no
// backend of domain id.
func (e *env) requireNoTreesOf(t *testing.T, id hypervisor.DomID) {
	t.Helper()
	ctx := ctxFor(t)
	require.Eventually(t, func() bool {
		for _, p := range []string{"/local/domain/" + id.String(), "/local/domain/0/backend/vbd/" + id.String(),
			"/local/domain/0/backend/vif/" + id.String()} {
			if ok, err := e.xs.Exists(ctx, p); err != nil || ok {
				return false
			}
		}
		return true
	}, waitFor, tick, "xenstore trees of domain %d left", id)
}

// failOnce fails its first Add.
type failOnce struct {
	hotplug.Hotplug
	armed atomic.Bool
}

func (f *failOnce) Add(ctx context.Context, d hotplug.Device) error {
	if f.armed.CompareAndSwap(true, false) {
		return errors.New("injected hotplug failure")
	}
	return f.Hotplug.Add(ctx, d)
}

func TestHost_TreesOfATeardownThatLostXenstoreAreSweptOnReconnect(t *testing.T) {
	e := newEnv(t)
	cs := &conns{e: e}
	hv := &dropOnDestroy{Hypervisor: e.h.Hypervisor(), cs: cs, destroyed: make(chan struct{})}
	hp := &failOnce{Hotplug: e.h.Hotplug().Device()}
	// No periodic sweep within the test: the one after the re-dial.
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: hv,
		Dial: cs.dial, Hotplug: hp, SweepInterval: time.Hour,
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	spec := newSpec()

	// The start fails in a plug; its teardown destroys the domain, then
	// its removals meet the dropped connection.
	hv.armed.Store(true)
	hp.armed.Store(true)
	c, err := hc.AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	select {
	case <-hv.destroyed:
	case <-ctx.Done():
		t.Fatal("the domain was not destroyed")
	}
	task, err := taskClient(t, e, hc).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Failed, task.State)
	doms, err := e.h.Hypervisor().ListDomains(ctx)
	require.NoError(t, err)
	require.Len(t, doms, 1, "only dom0")
	homes, err := e.xs.Directory(ctx, "/local/domain")
	require.NoError(t, err)
	require.Len(t, homes, 2, "the teardown's removals met the dropped connection")
	var gone uint64
	for _, name := range homes {
		if name != "0" {
			gone, err = strconv.ParseUint(name, 10, 32)
			require.NoError(t, err)
		}
	}

	cs.restore()
	e.requireNoTreesOf(t, hypervisor.DomID(gone))
	require.Eventually(t, func() bool {
		st := states(t, hc)[spec.UUID]
		return st.Err == nil && st.PowerState == vm.Halted
	}, waitFor, tick)
	require.NoError(t, hc.RemoveVM(ctx, spec.UUID))
}

// lateHotplug fails the first Add at once, then writes hotplug-status
// below the device's backend once its domain is gone, as a hotplug script
// still running after the toolstack gave up on it would.
type lateHotplug struct {
	hotplug.Hotplug
	e     *env
	armed atomic.Bool
	wrote chan struct{}
	domid atomic.Uint32
}

func (l *lateHotplug) Add(ctx context.Context, d hotplug.Device) error {
	if !l.armed.CompareAndSwap(true, false) {
		return l.Hotplug.Add(ctx, d)
	}
	l.domid.Store(d.Frontend)
	go func() {
		defer close(l.wrote)
		wctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		for {
			// Once the teardown is over: the domain and its home gone.
			_, err := l.e.h.Hypervisor().DomainInfo(wctx, hypervisor.DomID(d.Frontend))
			home, herr := l.e.xs.Exists(wctx, "/local/domain/"+strconv.FormatUint(uint64(d.Frontend), 10))
			if errdefs.IsNotFound(err) && herr == nil && !home {
				break
			}
			select {
			case <-wctx.Done():
				return
			case <-time.After(tick):
			}
		}
		_ = l.e.xs.Write(wctx, d.BackendPath()+"/hotplug-status", []byte("connected"))
	}()
	return errors.New("injected hotplug failure")
}

func TestHost_LateWritesBelowAGoneDomainAreSwept(t *testing.T) {
	e := newEnv(t)
	hp := &lateHotplug{Hotplug: e.h.Hotplug().Device(), e: e, wrote: make(chan struct{})}
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: hp, SweepInterval: 20 * time.Millisecond,
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	// Trees of a domain that is gone but was never the host's: untouched.
	const foreign = "/local/domain/4242"
	require.NoError(t, e.xs.Write(ctx, foreign+"/name", []byte("another toolstack's")))
	require.NoError(t, e.xs.Write(ctx, "/local/domain/0/backend/vbd/4242/51712/state", []byte("1")))

	spec := newSpec()
	hp.armed.Store(true)
	c, err := hc.AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task, err := taskClient(t, e, hc).Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Failed, task.State)
	select {
	case <-hp.wrote:
	case <-ctx.Done():
		t.Fatal("no late write")
	}
	gone := hypervisor.DomID(hp.domid.Load())
	e.requireNoTreesOf(t, gone)

	names, err := e.xs.Directory(ctx, foreign)
	require.NoError(t, err)
	require.Equal(t, []string{"name"}, names)
	ok, err := e.xs.Exists(ctx, "/local/domain/0/backend/vbd/4242/51712/state")
	require.NoError(t, err)
	require.True(t, ok)
	home, err := e.xs.Directory(ctx, "/local/domain/0")
	require.NoError(t, err)
	require.NotEmpty(t, home)
}

func TestHost_DomainsOfAVMThatAreNotItsDomainAreDestroyed(t *testing.T) {
	e := newEnv(t)
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: e.h.Hotplug().Device(), SweepInterval: 20 * time.Millisecond,
		TuneVM: func(c *vm.Config) { c.UnplugTimeout = 2 * time.Second }}), e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	running, halted := newSpec(), newSpec()
	halted.VIFs[0].MAC = "00:16:3e:00:00:02"
	own := startVM(t, e, hc, running)
	_, err = hc.AddVM(ctx, halted)
	require.NoError(t, err)

	// Domains of the VMs' uuids that no operation is setting up, as an
	// interrupted resume whose teardown failed leaves; and a domain of a
	// uuid the host does not know.
	hv := e.h.Hypervisor()
	create := func(uuid string) hypervisor.DomID {
		id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
			MaxMemKiB: 64 << 10})
		require.NoError(t, err)
		return id
	}
	strayRunning, strayHalted := create(running.UUID), create(halted.UUID)
	foreign := create(newSpec().UUID)

	require.Eventually(t, func() bool {
		_, err1 := hv.DomainInfo(ctx, strayRunning)
		_, err2 := hv.DomainInfo(ctx, strayHalted)
		return errdefs.IsNotFound(err1) && errdefs.IsNotFound(err2)
	}, waitFor, tick, "the strays were not destroyed")
	_, err = hv.DomainInfo(ctx, foreign)
	require.NoError(t, err, "a domain of another uuid is not touched")
	list := states(t, hc)
	require.Equal(t, vm.Running, list[running.UUID].PowerState)
	require.Equal(t, own, list[running.UUID].DomID)
	require.NoError(t, list[running.UUID].Err)
	require.Equal(t, vm.Halted, list[halted.UUID].PowerState)
	info, err := hv.DomainInfo(ctx, own)
	require.NoError(t, err)
	require.False(t, info.Paused || info.Shutdown)
}

func TestHost_DomainOfARemovedVMIsDestroyed(t *testing.T) {
	e := newEnv(t)
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: simtest.Dom0Dialer(e.h), Hotplug: e.h.Hotplug().Device(), SweepInterval: 20 * time.Millisecond}),
		e.hostName())
	require.NoError(t, err)
	hc := host.NewClient(e.system, pid)
	ctx := ctxFor(t)
	spec := newSpec()
	_, err = hc.AddVM(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, hc.RemoveVM(ctx, spec.UUID))

	// A domain of the removed VM, as an operation that outlived the VM's
	// actor would make it.
	hv := e.h.Hypervisor()
	id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: spec.UUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: 64 << 10})
	require.NoError(t, err)
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+id.String()+"/vm", []byte("/vm/"+spec.UUID)))
	require.Eventually(t, func() bool {
		_, err := hv.DomainInfo(ctx, id)
		return errdefs.IsNotFound(err)
	}, waitFor, tick, "the domain of the removed VM runs on")
	e.requireNoTreesOf(t, id)
}
