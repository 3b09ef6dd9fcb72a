package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
)

// TestMigration_FromAnotherHostSettlesOnRestart restarts a destination
// daemon that died while it received a VM from another host: before the
// commit the source still owns the VM, so the destination drops its copy
// (record, half-received domain, xenstore trees); after it, the
// destination keeps it.
func TestMigration_FromAnotherHostSettlesOnRestart(t *testing.T) {
	b := newMigrationHost(t, sim.Config{})
	ctx := ctxFor(t)
	hv := b.h.Hypervisor()
	halfReceived := func(uuid string, committed bool) hypervisor.DomID {
		d, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
			MaxMemKiB: 1 << 10})
		require.NoError(t, err)
		spec := newSpec()
		spec.UUID = uuid
		require.NoError(t, b.store.Put(ctx, host.KindReceiving, uuid, map[string]any{"committed": committed}))
		require.NoError(t, b.store.Put(ctx, host.KindVM, uuid, vm.Record{Spec: spec, DomID: d}))
		require.NoError(t, b.xs.Write(ctx, "/vm/"+uuid+"/name", []byte(spec.Name)))
		return d
	}
	dropped, kept := newSpec().UUID, newSpec().UUID
	halfReceived(dropped, false)
	keptDom := halfReceived(kept, true)

	b.hc = restartHost(t, b.env, b.hc, 1)
	list := states(t, b.hc)
	require.Contains(t, list, kept, "a committed VM is kept")
	require.NotContains(t, list, dropped, "an uncommitted one is the source's")
	require.Empty(t, b.domainsOf(t, dropped), "its half-received domain is destroyed")
	doms := b.domainsOf(t, kept)
	require.Len(t, doms, 1)
	require.Equal(t, keptDom, doms[0].ID, "the committed VM's domain is adopted")
	ok, err := b.xs.Exists(ctx, "/vm/"+dropped)
	require.NoError(t, err)
	require.False(t, ok, "its /vm path is gone")
	ids, err := b.store.List(ctx, host.KindVM)
	require.NoError(t, err)
	require.Equal(t, []string{kept}, ids)
	ids, err = b.store.List(ctx, host.KindReceiving)
	require.NoError(t, err)
	require.Empty(t, ids, "the records are settled")
}
