package pool_test

import (
	"context"
	"strings"
	"sync/atomic"
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
	case *messages.Request_MigrateVm:
		m := req.GetMigrateVm()
		if m.GetToHost() == "" || !m.GetLive() || m.GetUuid() != "solo-vm" {
			return nil, errdefs.ErrInvalid
		}
		return &messages.Response{Result: &messages.Response_TaskRef{TaskRef: &messages.TaskRef{
			Id: "task-to-" + m.GetToHost()}}}, nil
	case *messages.Request_WaitTask:
		// The migration to "far" is pending on the first wait, then
		// completed; the one to "full" fails.
		t := &messages.Task{Id: req.GetWaitTask().GetId()}
		switch {
		case t.Id == "task-to-full":
			t.State = messages.TaskState_TASK_STATE_FAILED
			t.Error = &messages.Error{Kind: errdefs.Kind(errdefs.ErrResourceExhausted), Message: "no room"}
		case waits.Add(1) > 1:
			t.State = messages.TaskState_TASK_STATE_COMPLETED
		}
		return &messages.Response{Result: &messages.Response_Task{Task: t}}, nil
	}
	return nil, errdefs.ErrNotImplemented
}

// waits counts the waits for the migration task to "far".
var waits atomic.Int32

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
		Local: local, ReportInterval: 50 * time.Millisecond, PollInterval: time.Hour})
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

	// Migration targets: the address a member publishes (an unspecified IP
	// is the pool address's), this host's own too, not a host that is down
	// or unknown.
	p.SetMigrateAddr("0.0.0.0:7652")
	require.Eventually(t, func() bool {
		kvs, err := ec.Get(ctx, "/xenactor/pools/p/hosts/solo")
		return err == nil && len(kvs) == 1 && strings.Contains(string(kvs[0].Value), `"migrate_address":"127.0.0.1:7652"`)
	}, 10*time.Second, 20*time.Millisecond, "the migration address is published")
	addr, cfg, err := p.MigrationTarget(ctx, "solo")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7652", addr)
	require.NotNil(t, cfg)
	_, _, err = p.MigrationTarget(ctx, "ghost")
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	_, _, err = p.MigrationTarget(ctx, "nobody")
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	// Migrate runs migrate_vm on the source, naming the target, and waits
	// for its task there.
	waits.Store(0)
	require.NoError(t, p.Migrate(ctx, "solo", "solo-vm", "far"))
	require.EqualValues(t, 2, waits.Load(), "waited until the task completed")
	err = p.Migrate(ctx, "solo", "solo-vm", "full")
	require.True(t, errdefs.IsResourceExhausted(err), "the task's error: %v", err)
	require.ErrorContains(t, err, "no room")
	err = p.Migrate(ctx, "ghost", "solo-vm", "far")
	require.True(t, errdefs.IsUnavailable(err), "a source that is down: %v", err)

	// The member reports its own VMs for the day it dies.
	require.Eventually(t, func() bool {
		kvs, err := ec.Get(ctx, "/xenactor/pools/p/vms/solo")
		return err == nil && len(kvs) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// The members are watched, not only polled (the poll is an hour
	// away): ghost's member key coming and going shows it up and down.
	ghostUp := func() bool {
		live := p.Members()
		_, ok := live["ghost"]
		return ok
	}
	require.False(t, ghostUp())
	require.NoError(t, ec.Put(ctx, "/xenactor/pools/p/members/ghost",
		[]byte(`{"id":"ghost@1","host":"ghost","addr":"127.0.0.1","port":1}`), 0))
	require.Eventually(t, ghostUp, 10*time.Second, 20*time.Millisecond, "a member that joins")
	require.NoError(t, ec.Delete(ctx, "/xenactor/pools/p/members/ghost"))
	require.Eventually(t, func() bool { return !ghostUp() }, 10*time.Second, 20*time.Millisecond,
		"a member that leaves")

	// Leaving revokes the member's key at once.
	require.NoError(t, p.Stop())
	kvs, err := ec.Get(ctx, "/xenactor/pools/p/members/")
	require.NoError(t, err)
	require.Empty(t, kvs)
}
