package daemon_test

import (
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/messages"
)

// checksumPages is the checksum of the first n pages of domain id.
func checksumPages(t *testing.T, hv *hvremote.Client, id hypervisor.DomID, n uint64) [32]byte {
	t.Helper()
	sum := sha256.New()
	for pfn := range n {
		page, err := hv.ReadPage(ctxFor(t), id, pfn)
		require.NoError(t, err)
		sum.Write(page)
	}
	return [32]byte(sum.Sum(nil))
}

// requireOnlyVM checks, through the API, that d has VM uuid alone, Running
// on domain domid (any when 0), and that its state directory holds nothing
// of a temporary uuid; it returns the VM's domain.
func requireOnlyVM(t *testing.T, m *migrationDaemon, stateDir, uuid string, domid uint32) uint32 {
	t.Helper()
	ctx := ctxFor(t)
	var got uint32
	require.Eventually(t, func() bool {
		vms, err := m.c.ListVMs(ctx)
		if err != nil || len(vms) != 1 || vms[0].GetSpec().GetUuid() != uuid {
			return false
		}
		st, err := m.c.StatVM(ctx, uuid)
		if err != nil || st.PowerState != messages.PowerState_POWER_STATE_RUNNING || (domid != 0 && st.Domid != domid) {
			return false
		}
		got = st.Domid
		return recordsOf(t, stateDir, "incoming") == 0 && recordsOf(t, stateDir, "vm") == 1
	}, waitFor, tick, "VM %s alone, running, nothing of a temporary uuid", uuid)
	return got
}

// recordsOf counts the records of kind in the state directory dir.
func recordsOf(t *testing.T, dir, kind string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, kind, "*.json"))
	require.NoError(t, err)
	return len(files)
}

// TestDaemon_Migration_ToItself migrates a running VM, through the API,
// to the daemon's own migration address: one VM remains, with the same
// uuid, on a new domain with the same memory, its guest reporting. Then a
// migration that fails at the destination, mid-way (no memory left for a
// second copy), leaves it running as before, with nothing of the
// temporary uuid.
func TestDaemon_Migration_ToItself(t *testing.T) {
	m := newMigrationDaemon(t)
	d, stateDir := m.d, m.stateDir
	ctx := ctxFor(t)
	hv, err := hvremote.Dial(ctx, d.HypervisorSocket())
	require.NoError(t, err)
	t.Cleanup(func() { _ = hv.Close() })

	spec := newSpec(0)
	domA := startVM(t, d, spec)
	require.Eventually(t, func() bool {
		st, err := m.c.StatVM(ctx, spec.UUID)
		return err == nil && st.Guest != nil && st.Guest.GetOsName() != ""
	}, waitFor, tick, "the guest reports")
	require.NoError(t, hv.WritePage(ctx, domA, 9, []byte("state of the guest")))
	sum := checksumPages(t, hv, domA, 1024)

	task, err := m.c.MigrateVM(ctx, spec.UUID, d.MigrateAddr(), m.config, true, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	domB := requireOnlyVM(t, m, stateDir, spec.UUID, 0)
	require.NotEqual(t, uint32(domA), domB)
	assert.Equal(t, sum, checksumPages(t, hv, hypervisor.DomID(domB), 1024), "the memory moved")
	require.Eventually(t, func() bool {
		st, err := m.c.StatVM(ctx, spec.UUID)
		return err == nil && st.Guest != nil && st.Guest.GetOsName() != "" && len(st.Guest.GetNetworks()) == 1
	}, waitFor, tick, "the guest reports on the new domain")

	// Fill the host: the next copy does not fit.
	filler := newSpec(1)
	filler.MemoryKiB = 1680 << 10
	startVM(t, d, filler)
	task, err = m.c.MigrateVM(ctx, spec.UUID, d.MigrateAddr(), m.config, true, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.ErrorContains(t, err, "memory")
	task, err = m.c.DestroyVM(ctx, filler.UUID)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m.c.RemoveVM(ctx, filler.UUID))
	requireOnlyVM(t, m, stateDir, spec.UUID, domB)
}
