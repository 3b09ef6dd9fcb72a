package host_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
)

// requireOnlyVM checks that m holds VM uuid alone, Running on domain
// domid (any domain when 0), with nothing of a temporary uuid left: one
// record, no incoming record, one domain of the uuid, one /vm path.
func (m *migrationHost) requireOnlyVM(t *testing.T, uuid string, domid hypervisor.DomID) vm.Client {
	t.Helper()
	ctx := ctxFor(t)
	require.Eventually(t, func() bool {
		list := states(t, m.hc)
		ids, err := m.store.List(ctx, host.KindIncoming)
		vms, err2 := m.store.List(ctx, host.KindVM)
		paths, err3 := m.xs.Directory(ctx, "/vm")
		return len(list) == 1 && list[uuid].PowerState == vm.Running && (domid == 0 || list[uuid].DomID == domid) &&
			err == nil && len(ids) == 0 && err2 == nil && slices.Equal(vms, []string{uuid}) &&
			err3 == nil && slices.Equal(paths, []string{uuid}) && len(m.domainsOf(t, uuid)) == 1
	}, waitFor, tick, "VM %s alone, running, nothing of a temporary uuid", uuid)
	c, err := m.hc.VM(ctx, uuid)
	require.NoError(t, err)
	return c
}

// TestMigration_ToTheSameHost migrates a running VM to its own host's
// listener: it is received under a temporary uuid and takes its own back;
// one VM remains, on the new domain, with its memory and its guest agent.
func TestMigration_ToTheSameHost(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	spec, c := a.startVM(t)
	ctx := ctxFor(t)
	domA := states(t, a.hc)[spec.UUID].DomID
	require.NoError(t, a.h.Sim().WritePage(ctx, domA, 9, []byte("state of the guest")))

	id, err := c.Migrate(ctx, vm.MigrateVM{Dest: a.addr, Token: migrateToken, Live: true})
	require.NoError(t, err)
	task, err := a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "migrate: %s", task.Error)

	bc := a.requireOnlyVM(t, spec.UUID, 0)
	st, err := bc.Stat(ctx)
	require.NoError(t, err)
	require.NotEqual(t, domA, st.DomID, "a new domain")
	assert.Equal(t, spec.UUID, a.domainsOf(t, spec.UUID)[0].UUID)
	page, err := a.h.Sim().ReadPage(ctx, st.DomID, 9)
	require.NoError(t, err)
	assert.Equal(t, "state of the guest", string(page[:18]))
	vmKey, err := a.xs.Read(ctx, fmt.Sprintf("/local/domain/%d/vm", st.DomID))
	require.NoError(t, err)
	assert.Equal(t, "/vm/"+spec.UUID, string(vmKey))
	require.Eventually(t, func() bool {
		st, err := bc.Stat(ctx)
		return err == nil && st.Guest != nil && st.Guest.OS.Name != "" && len(st.Devices) == 2
	}, waitFor, tick, "the guest's metrics resume")

	// It runs on under its uuid: a shutdown works, and leaves no trees.
	id, err = bc.Shutdown(ctx, true)
	require.NoError(t, err)
	task, err = a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "shutdown: %s", task.Error)
	a.requireXenstoreEmpty(t)
}

// TestMigration_ToTheSameHostFails fails migrations to the same host at
// the destination (no memory for a second copy) and by a cancel while the
// destination holds its temporary VM: the VM runs on as before, and
// nothing of the temporary uuid is left.
func TestMigration_ToTheSameHostFails(t *testing.T) {
	// Room for the VM once, not twice.
	a := newMigrationHost(t, sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: 1 << 20,
		Dom0MemoryKiB: 1<<20 - 100<<10}})
	spec, c := a.startVM(t)
	ctx := ctxFor(t)
	domA := states(t, a.hc)[spec.UUID].DomID

	t.Run("out of memory", func(t *testing.T) {
		id, err := c.Migrate(ctx, vm.MigrateVM{Dest: a.addr, Token: migrateToken, Live: true})
		require.NoError(t, err)
		task, err := a.tc.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tasks.Failed, task.State)
		assert.Contains(t, task.Error, "memory: destination:")
		a.requireOnlyVM(t, spec.UUID, domA)
	})

	t.Run("cancel", func(t *testing.T) {
		proxy := newMeteredProxy(t, a.addr)
		id, err := c.Migrate(ctx, vm.MigrateVM{Dest: "127.0.0.1:" + port(t, proxy.ln.Addr()), Token: migrateToken,
			Live: true})
		require.NoError(t, err)
		// Let the hello and the metadata through, until the temporary VM
		// is there; then hold the stream and cancel.
		require.Eventually(t, func() bool {
			proxy.grant(64)
			ids, err := a.store.List(ctx, host.KindIncoming)
			return err == nil && len(ids) == 1
		}, waitFor, time.Millisecond, "the destination received the metadata")
		require.NoError(t, a.tc.Cancel(ctx, id))
		task, err := a.tc.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tasks.Failed, task.State)
		a.requireOnlyVM(t, spec.UUID, domA)
	})

	st, err := c.Stat(context.Background())
	require.NoError(t, err)
	assert.Equal(t, vm.Running, st.PowerState)
	assert.Equal(t, domA, st.DomID)
}

// TestMigration_ToTheSameHostSettlesOnRestart restarts the daemon in the
// middle of a migration to the same host, as its records and domains were
// left: committed but not renamed yet (the source's record and a domain of
// the source still there), and not committed. Either way one VM remains,
// on the right domain, and nothing of the temporary uuid.
func TestMigration_ToTheSameHostSettlesOnRestart(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	spec, c := a.startVM(t)
	ctx := ctxFor(t)
	id, err := c.Migrate(ctx, vm.MigrateVM{Dest: a.addr, Token: migrateToken, Live: true})
	require.NoError(t, err)
	task, err := a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "migrate: %s", task.Error)
	a.requireOnlyVM(t, spec.UUID, 0)
	received := record(t, a.env, spec.UUID)
	hv := a.h.Hypervisor()
	newDomain := func() hypervisor.DomID {
		d, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: spec.UUID, Type: spec.Type, MaxVCPUs: 1,
			MaxMemKiB: 1 << 10})
		require.NoError(t, err)
		return d
	}
	hc := a.hc

	t.Run("committed", func(t *testing.T) {
		temp := newSpec().UUID
		rec := received
		rec.Spec.UUID = temp
		require.NoError(t, a.store.Put(ctx, host.KindVM, temp, rec))
		require.NoError(t, a.store.Put(ctx, host.KindIncoming, temp, map[string]any{"for": spec.UUID, "committed": true}))
		source := received
		source.DomID = newDomain() // the source's copy, not torn down yet
		require.NoError(t, a.store.Put(ctx, host.KindVM, spec.UUID, source))
		hc = restartHost(t, a.env, hc, 1)
		a.hc = hc
		a.requireOnlyVM(t, spec.UUID, received.DomID)
	})

	t.Run("not committed", func(t *testing.T) {
		temp := newSpec().UUID
		rec := received
		rec.Spec.UUID = temp
		rec.DomID = newDomain() // the half-received copy
		require.NoError(t, a.store.Put(ctx, host.KindVM, temp, rec))
		require.NoError(t, a.store.Put(ctx, host.KindIncoming, temp, map[string]any{"for": spec.UUID}))
		hc = restartHost(t, a.env, hc, 1)
		a.hc = hc
		a.requireOnlyVM(t, spec.UUID, received.DomID)
	})
}
