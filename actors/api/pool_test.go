package api_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// fakePool is a pool of "testhost" (this one) and "other", whose requests
// it records and answers with a HostInfo naming it.
type fakePool struct {
	mu     sync.Mutex
	routed []*messages.Request
	least  string
}

func (p *fakePool) Self() string { return "testhost" }

func (p *fakePool) Hosts(context.Context) ([]*messages.PoolHost, error) {
	return []*messages.PoolHost{{Name: "other", Up: false}, {Name: "testhost", Up: true}}, nil
}

func (p *fakePool) VMs(context.Context) ([]*messages.PoolVM, error) {
	return []*messages.PoolVM{{Host: "other", Vm: &messages.VMSummary{Spec: &messages.VMSpec{Uuid: "u"},
		PowerState: messages.PowerState_POWER_STATE_UNKNOWN}}}, nil
}

func (p *fakePool) Route(_ context.Context, host string, req *messages.Request) (*messages.Response, error) {
	if host != "other" {
		return nil, fmt.Errorf("%w: no pool host %s", errdefs.ErrNotFound, host)
	}
	p.mu.Lock()
	p.routed = append(p.routed, req)
	p.mu.Unlock()
	return &messages.Response{Host: host, Result: &messages.Response_HostInfo{HostInfo: &messages.HostInfo{
		Hostname: host}}}, nil
}

func (p *fakePool) LeastLoaded(context.Context) (string, error) { return p.least, nil }

func (p *fakePool) MigrationTarget(_ context.Context, host string) (string, *tls.Config, error) {
	return "", nil, fmt.Errorf("%w: no pool host %s", errdefs.ErrNotFound, host)
}

func (p *fakePool) Evacuate(_ context.Context, host string, batch int) ([]*messages.EvacuatedVM, error) {
	return []*messages.EvacuatedVM{{Uuid: "u", From: host, To: fmt.Sprint("batch-", batch), How: "moved"}}, nil
}

func TestAPI_RoutesToPoolHosts(t *testing.T) {
	p := &fakePool{least: "other"}
	e := newEnv(t, func(c *api.Config) { c.Pool = p })
	ctx := ctxFor(t)

	info, err := e.c.On("other").HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "other", info.GetHostname(), "routed through the pool")
	info, err = e.c.LeastLoaded().HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "other", info.GetHostname(), "the least loaded host")
	p.mu.Lock()
	require.Len(t, p.routed, 2)
	p.mu.Unlock()

	// This host's own name, or the least loaded being this one, runs here.
	info, err = e.c.On("testhost").HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "testhost", info.GetHostname())
	p.least = "testhost"
	host, err := e.c.LeastLoaded().PlaceVM(ctx, &messages.VMSpec{Uuid: newUUID(), Name: "here",
		Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1, MemoryKib: 64 << 10, Kernel: "sim:linux"})
	require.NoError(t, err)
	require.Equal(t, "testhost", host, "Response.host names where it ran")

	_, err = e.c.On("nowhere").HostInfo(ctx)
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	hosts, err := e.c.PoolHosts(ctx)
	require.NoError(t, err)
	require.Len(t, hosts, 2)
	vms, err := e.c.PoolVMs(ctx)
	require.NoError(t, err)
	require.Equal(t, messages.PowerState_POWER_STATE_UNKNOWN, vms[0].GetVm().GetPowerState())
	ev, err := e.c.PoolEvacuate(ctx, "other", 3)
	require.NoError(t, err)
	require.Equal(t, "batch-3", ev[0].GetTo())
	_, err = e.c.PoolEvacuate(ctx, "", 0)
	require.True(t, errdefs.IsInvalid(err), "%v", err)

	// A migration to a pool host asks the pool where it is.
	_, err = e.c.MigrateVMToHost(ctx, newUUID(), "nowhere", true, false)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.ErrorContains(t, err, "no pool host nowhere")
	resp, err := client.InProcess(e.system, e.api).Call(ctx, &messages.Request{Op: &messages.Request_MigrateVm{
		MigrateVm: &messages.MigrateVMRequest{Uuid: newUUID(), ToHost: "other", Destination: "127.0.0.1:1"}}})
	require.NoError(t, err)
	require.Equal(t, "invalid", resp.GetError().GetKind(), "a pool host and an address")
}

func TestAPI_WithoutAPool(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	_, err := e.c.PoolHosts(ctx)
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
	_, err = e.c.PoolVMs(ctx)
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
	_, err = e.c.PoolEvacuate(ctx, "other", 0)
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
	_, err = e.c.On("other").HostInfo(ctx)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	_, err = e.c.MigrateVMToHost(ctx, newUUID(), "other", true, false)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.ErrorContains(t, err, "not in a pool")
	info, err := e.c.On("testhost").HostInfo(ctx)
	require.NoError(t, err, "the daemon's own name")
	require.Equal(t, "testhost", info.GetHostname())
	info, err = e.c.LeastLoaded().HostInfo(ctx)
	require.NoError(t, err, "a daemon alone is its least loaded host")
	require.Equal(t, "testhost", info.GetHostname())

	resp, err := client.InProcess(e.system, e.api).Call(ctx, &messages.Request{Host: "testhost", LeastLoaded: true,
		Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	require.NoError(t, err)
	require.Equal(t, "invalid", resp.GetError().GetKind(), "a host and the least loaded one")
}
