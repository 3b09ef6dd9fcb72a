package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xenactor/xenactor/actors/pool"
	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/hostio/etcd/etcdtest"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// local is a fake api actor: one running VM, 1 GiB free.
func local(_ context.Context, req *messages.Request) (*messages.Response, error) {
	switch req.GetOp().(type) {
	case *messages.Request_HostInfo:
		return &messages.Response{Result: &messages.Response_HostInfo{HostInfo: &messages.HostInfo{Hostname: "solo",
			MemoryTotalKib: 2 << 20, MemoryFreeKib: 1 << 20, Vms: 1, VmsRunning: 1}}}, nil
	case *messages.Request_ListVms:
		return &messages.Response{Result: &messages.Response_Vms{Vms: &messages.VMList{Vms: []*messages.VMSummary{{
			Spec: &messages.VMSpec{Uuid: "solo-vm", Name: "s"}, PowerState: messages.PowerState_POWER_STATE_RUNNING,
			Domid: 3}}}}}, nil
	}
	return nil, errdefs.ErrNotImplemented
}

// TestPool_OneMember runs one member (a second remote in the process would
// trip the race detector inside the library; cmd/xenactord runs three
// hosts as processes) against a real etcd, with the records of a host that
// died beside it.
func TestPool_OneMember(t *testing.T) {
	url := etcdtest.Start(t)
	ec, err := etcd.New([]string{url})
	require.NoError(t, err)
	creds, err := apiwire.EnsurePoolCredentials(t.TempDir(), "solo")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// ghost reported a VM, then died: its member key is gone.
	require.NoError(t, ec.Put(ctx, "/xenactor/pools/p/hosts/ghost",
		[]byte(`{"name":"ghost","address":"127.0.0.1:1","memory_total_kib":4194304,"memory_free_kib":4000000,"vms":1}`), 0))
	vb, err := protojson.Marshal(&messages.VMList{Vms: []*messages.VMSummary{{Spec: &messages.VMSpec{Uuid: "ghost-vm",
		Name: "g"}, PowerState: messages.PowerState_POWER_STATE_RUNNING, Domid: 9}}})
	require.NoError(t, err)
	require.NoError(t, ec.Put(ctx, "/xenactor/pools/p/vms/ghost", vb, 0))

	for _, bad := range []pool.Config{
		{Pool: "p", Host: "bad/name", Address: "127.0.0.1:0", Etcd: ec, Credentials: creds, Local: local},
		{Pool: "", Host: "solo", Address: "127.0.0.1:0", Etcd: ec, Credentials: creds, Local: local},
		{Pool: "p", Host: "solo", Address: "nowhere", Etcd: ec, Credentials: creds, Local: local},
		{Pool: "p", Host: "solo", Address: "127.0.0.1:0", Credentials: creds, Local: local},
	} {
		_, err := pool.Start(ctx, bad)
		require.True(t, errdefs.IsInvalid(err), "%+v: %v", bad, err)
	}

	p, err := pool.Start(ctx, pool.Config{Pool: "p", Host: "solo", Address: "127.0.0.1:0", Etcd: ec, Credentials: creds,
		Local: local, ReportInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	defer p.Stop()
	require.Equal(t, "solo", p.Self())

	// The name is taken while the member lives (checked before a remote
	// starts, so this second Start is safe in the same process).
	_, err = pool.Start(ctx, pool.Config{Pool: "p", Host: "solo", Address: "127.0.0.1:0", Etcd: ec, Credentials: creds,
		Local: local})
	require.True(t, errdefs.IsExists(err), "%v", err)

	hosts, err := p.Hosts(ctx)
	require.NoError(t, err)
	require.Len(t, hosts, 2)
	require.Equal(t, "ghost", hosts[0].GetName())
	require.False(t, hosts[0].GetUp())
	require.Equal(t, uint64(4000000), hosts[0].GetMemoryFreeKib(), "its last report")
	require.Equal(t, "solo", hosts[1].GetName())
	require.True(t, hosts[1].GetUp())
	require.Equal(t, p.Addr(), hosts[1].GetAddress())
	require.Equal(t, uint64(1<<20), hosts[1].GetMemoryFreeKib(), "asked of the host")

	least, err := p.LeastLoaded(ctx)
	require.NoError(t, err)
	require.Equal(t, "solo", least, "ghost has more free memory but is down")

	vms, err := p.VMs(ctx)
	require.NoError(t, err)
	require.Len(t, vms, 2)
	require.Equal(t, "ghost", vms[0].GetHost())
	require.False(t, vms[0].GetHostUp())
	require.Equal(t, messages.PowerState_POWER_STATE_UNKNOWN, vms[0].GetVm().GetPowerState())
	require.Equal(t, "ghost-vm", vms[0].GetVm().GetSpec().GetUuid())
	require.Equal(t, "solo", vms[1].GetHost())
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, vms[1].GetVm().GetPowerState())

	resp, err := p.Route(ctx, "solo", &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	require.NoError(t, err)
	require.Equal(t, "solo", resp.GetHost())
	_, err = p.Route(ctx, "ghost", &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	_, err = p.Route(ctx, "nobody", &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	// The member reports its own VMs for the day it dies.
	require.Eventually(t, func() bool {
		kvs, err := ec.Get(ctx, "/xenactor/pools/p/vms/solo")
		return err == nil && len(kvs) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// Leaving revokes the member's key at once.
	require.NoError(t, p.Stop())
	kvs, err := ec.Get(ctx, "/xenactor/pools/p/members/")
	require.NoError(t, err)
	require.Empty(t, kvs)
}
