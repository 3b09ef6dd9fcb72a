package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
)

func newTestHost(t *testing.T) *Host {
	t.Helper()
	dir, err := os.MkdirTemp("", "chk")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	h, err := NewHost(dir, 4096)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func invariants(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Invariant+": "+v.Found)
	}
	return out
}

func TestCheck_FindsWhatTheDaemonDoesNotAccountFor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := newTestHost(t)
	hv := h.Sim().Hypervisor()
	const known, stray = "c4a05000-0000-4000-8000-000000000001", "c4a05000-0000-4000-8000-0000000000ff"
	id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: known, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: 1 << 16})
	require.NoError(t, err)
	require.NoError(t, hv.Pause(ctx, id))

	vs, err := h.Check(ctx, &View{VMs: []VMView{{UUID: known, Power: "PAUSED", DomID: uint32(id)}}})
	require.NoError(t, err)
	require.Empty(t, invariants(vs), "a consistent host")

	// The daemon thinks it runs; a task still pending.
	vs, err = h.Check(ctx, &View{VMs: []VMView{{UUID: known, Power: "RUNNING", DomID: uint32(id)}},
		Pending: []string{"VM.start of x (1)"}})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{InvVMState, InvTaskTerminal}, kinds(vs), "%v", invariants(vs))

	// A domain of no VM, a home and backend of no domain, /vm of no VM.
	sid, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: stray, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: 1 << 16})
	require.NoError(t, err)
	require.NoError(t, hv.Pause(ctx, sid))
	require.NoError(t, h.xs.Write(ctx, "/local/domain/999/name", []byte("gone")))
	require.NoError(t, h.xs.Write(ctx, "/local/domain/0/backend/vbd/999/51712/state", []byte("4")))
	require.NoError(t, h.xs.Write(ctx, "/vm/"+stray+"/name", []byte("gone")))
	vs, err = h.Check(ctx, &View{VMs: []VMView{{UUID: known, Power: "PAUSED", DomID: uint32(id)}}})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{InvLeakedDomain, InvXenstoreOrphan, InvXenstoreOrphan, InvXenstoreOrphan},
		kinds(vs), "%v", invariants(vs))

	// A VM without a domain while one has its uuid.
	vs, err = h.Check(ctx, &View{VMs: []VMView{{UUID: known, Power: "HALTED"}}})
	require.NoError(t, err)
	require.Contains(t, kinds(vs), InvVMState)
}

func kinds(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Invariant)
	}
	return out
}

func TestCheckGrowth_Bounded(t *testing.T) {
	first := Sample{Run: 0, Goroutines: 40, FDs: 20}
	require.Empty(t, checkGrowth(first, Sample{Run: 5, Goroutines: 70, FDs: 68}))
	vs := checkGrowth(first, Sample{Run: 6, Goroutines: 200, FDs: 69})
	require.Len(t, vs, 2)
	require.Equal(t, InvGrowth, vs[0].Invariant)
	require.Equal(t, 6, vs[0].Run)
}
