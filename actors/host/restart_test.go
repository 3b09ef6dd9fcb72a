package host_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// startVM adds and starts spec on hc and returns its domain.
func startVM(t *testing.T, e *env, hc host.Client, spec vm.Spec) hypervisor.DomID {
	t.Helper()
	ctx := ctxFor(t)
	c, err := hc.AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	tc := taskClient(t, e, hc)
	task, err := tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	return st.DomID
}

func taskClient(t *testing.T, e *env, hc host.Client) tasks.Client {
	t.Helper()
	pid, err := hc.Tasks(ctxFor(t))
	require.NoError(t, err)
	return tasks.NewClient(e.system, pid)
}

// record reads VM uuid's persisted record.
func record(t *testing.T, e *env, uuid string) vm.Record {
	t.Helper()
	var rec vm.Record
	require.NoError(t, e.store.Get(ctxFor(t), host.KindVM, uuid, &rec))
	return rec
}

// restartHost stops the host actor (the simulated host keeps running, as
// Xen does when its toolstack goes) and spawns a new one on the same state
// directory, waiting until it listed want VMs.
func restartHost(t *testing.T, e *env, hc host.Client, want int) host.Client {
	t.Helper()
	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())
	hc = e.spawnHost(t)
	require.Eventually(t, func() bool {
		l, err := hc.ListVMs(ctxFor(t))
		return err == nil && len(l) == want
	}, waitFor, tick)
	return hc
}

// connected reports whether every device of st is Connected at both ends.
func connected(st *vm.VMStatus) bool {
	for _, d := range st.Devices {
		if d.BackendState != xenbus.StateConnected || d.FrontendState != xenbus.StateConnected {
			return false
		}
	}
	return len(st.Devices) > 0
}

func TestHost_HotpluggedDevicesArePersisted(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	a := newSpec()
	domid := startVM(t, e, hc, a)
	ac, err := hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	tc := taskClient(t, e, hc)

	extra := vm.VBD{DevID: 51728, Params: "/dev/loop1"}
	id, err := ac.PlugVBD(ctx, extra)
	require.NoError(t, err)
	task, err := tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "plug: %s", task.Error)
	id, err = ac.UnplugVIF(ctx, 0, true)
	require.NoError(t, err)
	task, err = tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "unplug: %s", task.Error)

	rec := record(t, e, a.UUID)
	require.Equal(t, append(slices.Clone(a.VBDs), extra), rec.Spec.VBDs)
	require.Empty(t, rec.Spec.VIFs)
	require.Equal(t, domid, rec.DomID)
	require.Nil(t, rec.Op)

	hc = restartHost(t, e, hc, 1)
	info := states(t, hc)[a.UUID]
	require.Equal(t, rec.Spec, info.Spec, "the listed spec is the persisted one")
	require.Equal(t, vm.Running, info.PowerState)
	ac, err = hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	var st *vm.VMStatus
	require.Eventually(t, func() bool {
		st, err = ac.Stat(ctx)
		return err == nil && len(st.Devices) == 2 && connected(st)
	}, waitFor, tick, "both VBDs connected, no VIF: %+v", st)

	// The restarted VM actor unplugs what it adopted, by the record's spec.
	tc = taskClient(t, e, hc)
	id, err = ac.Shutdown(ctx, true)
	require.NoError(t, err)
	task, err = tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "shutdown: %s", task.Error)
	e.requireXenstoreEmpty(t)
}

func TestHost_InterruptedStartIsRolledBack(t *testing.T) {
	e := newEnv(t)
	ctx := ctxFor(t)
	hv := e.h.Hypervisor()
	a, foreign := newSpec(), newSpec()
	create := func(uuid string) hypervisor.DomID {
		d, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
			MaxMemKiB: 64 << 10})
		require.NoError(t, err)
		return d
	}
	// What a daemon killed in the middle of a start leaves: the record
	// with the start in flight and the domain it was setting up, a second
	// domain of the VM created just before the kill (not recorded yet), a
	// half-written home, and a domain that is not ours.
	creating, unrecorded, other := create(a.UUID), create(a.UUID), create(foreign.UUID)
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+creating.String()+"/name", []byte(a.Name)))
	require.NoError(t, e.xs.Write(ctx, "/vm/"+a.UUID+"/uuid", []byte(a.UUID)))
	require.NoError(t, e.store.Put(ctx, host.KindVM, a.UUID, vm.Record{Spec: a, Creating: creating,
		Op: &vm.RecordedOp{TaskID: "vmop-interrupted", Kind: "VM.start", Started: time.Now()}}))

	hc := e.spawnHost(t)
	require.Eventually(t, func() bool {
		l, err := hc.ListVMs(ctx)
		return err == nil && len(l) == 1
	}, waitFor, tick)
	tc := taskClient(t, e, hc)
	require.Eventually(t, func() bool {
		task, err := tc.Get(ctx, "vmop-interrupted")
		return err == nil && task.State == tasks.Failed
	}, waitFor, tick, "the interrupted start's task is failed")
	task, err := tc.Get(ctx, "vmop-interrupted")
	require.NoError(t, err)
	require.Equal(t, "VM.start", task.Kind)
	require.Equal(t, a.UUID, task.Subject)
	require.Contains(t, task.Error, "interrupted")
	require.Equal(t, errdefs.Kind(errdefs.ErrUnavailable), task.ErrorKind)

	for _, d := range []hypervisor.DomID{creating, unrecorded} {
		require.Eventually(t, func() bool {
			_, err := hv.DomainInfo(ctx, d)
			return errdefs.IsNotFound(err)
		}, waitFor, tick, "domain %d of the VM is destroyed", d)
	}
	_, err = hv.DomainInfo(ctx, other)
	require.NoError(t, err, "a domain the daemon did not create is not touched")
	require.Eventually(t, func() bool {
		rec := record(t, e, a.UUID)
		return rec.Op == nil && rec.Creating == 0 && rec.DomID == 0
	}, waitFor, tick, "the record is clean again")
	require.Equal(t, vm.Halted, states(t, hc)[a.UUID].PowerState)
	for _, p := range []string{"/local/domain/" + creating.String(), "/vm/" + a.UUID} {
		ok, err := e.xs.Exists(ctx, p)
		require.NoError(t, err)
		require.False(t, ok, "%s is removed", p)
	}

	// The VM starts normally afterwards.
	ac, err := hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	id, err := ac.Start(ctx, false)
	require.NoError(t, err)
	task, err = tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	require.NoError(t, hv.Destroy(ctx, other))
}

func TestHost_InterruptedHotplugIsRolledBack(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	a := newSpec()
	domid := startVM(t, e, hc, a)
	require.NoError(t, e.system.Root.StopFuture(hc.PID()).Wait())

	// The daemon died in the middle of a plug of VBD 51728 (its trees
	// written, not recorded in the spec) while the VIF's trees were gone
	// (an unplug the record does not show finished).
	d := xenbus.Device{Class: xenbus.ClassVBD, Frontend: uint32(domid), DevID: 51728}
	require.NoError(t, e.xs.Write(ctx, d.BackendPath()+"/params", []byte("/dev/loop9")))
	require.NoError(t, e.xs.Write(ctx, d.BackendPath()+"/state", []byte("1")))
	require.NoError(t, e.xs.Write(ctx, d.FrontendPath()+"/state", []byte("1")))
	vif := xenbus.Device{Class: xenbus.ClassVIF, Frontend: uint32(domid), DevID: 0}
	require.NoError(t, e.xs.Rm(ctx, vif.FrontendPath()))
	require.NoError(t, e.xs.Rm(ctx, vif.BackendPath()))
	rec := record(t, e, a.UUID)
	rec.Op = &vm.RecordedOp{TaskID: "vmop-plug", Kind: "VBD.plug", Started: time.Now()}
	require.NoError(t, e.store.Put(ctx, host.KindVM, a.UUID, rec))

	hc = e.spawnHost(t)
	var ac vm.Client
	require.Eventually(t, func() bool {
		var err error
		ac, err = hc.VM(ctx, a.UUID)
		return err == nil
	}, waitFor, tick)
	require.Eventually(t, func() bool {
		st, err := ac.Stat(ctx)
		return err == nil && st.PowerState == vm.Running && st.DomID == domid && len(st.Devices) == 2 && connected(st)
	}, waitFor, tick, "the VIF of the spec is plugged again")
	require.Eventually(t, func() bool {
		ok, err := e.xs.Exists(ctx, d.BackendPath())
		ok2, err2 := e.xs.Exists(ctx, d.FrontendPath())
		return err == nil && err2 == nil && !ok && !ok2
	}, waitFor, tick, "the half-plugged VBD is removed")
	tc := taskClient(t, e, hc)
	task, err := tc.Get(ctx, "vmop-plug")
	require.NoError(t, err)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "interrupted")
	require.Nil(t, record(t, e, a.UUID).Op)
}

func TestHost_SuspendedVMStaysSuspendedAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	hc := e.spawnHost(t)
	ctx := ctxFor(t)
	a := newSpec()
	domid := startVM(t, e, hc, a)
	ac, err := hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	tc := taskClient(t, e, hc)
	// A guest suspends once its PV drivers say it can.
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctx, "/local/domain/"+domid.String()+"/control/feature-suspend")
		return err == nil && string(v) == "1"
	}, waitFor, tick)
	image := filepath.Join(t.TempDir(), "a.img")
	id, err := ac.Suspend(ctx, image)
	require.NoError(t, err)
	task, err := tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "suspend: %s", task.Error)
	require.Equal(t, image, record(t, e, a.UUID).SuspendImage)

	hc = restartHost(t, e, hc, 1)
	ac, err = hc.VM(ctx, a.UUID)
	require.NoError(t, err)
	st, err := ac.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Suspended, st.PowerState)
	require.Equal(t, image, st.SuspendImage)

	tc = taskClient(t, e, hc)
	id, err = ac.Resume(ctx, false)
	require.NoError(t, err)
	task, err = tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "resume: %s", task.Error)
	require.Empty(t, record(t, e, a.UUID).SuspendImage)
	require.NoFileExists(t, image)
	info := states(t, hc)[a.UUID]
	require.Equal(t, vm.Running, info.PowerState)
	require.Equal(t, info.DomID, record(t, e, a.UUID).DomID, "the resumed domain is recorded")

	// And adopted by the next daemon.
	hc = restartHost(t, e, hc, 1)
	require.Eventually(t, func() bool {
		got := states(t, hc)[a.UUID]
		return got.PowerState == vm.Running && got.DomID == info.DomID
	}, waitFor, tick)
}
