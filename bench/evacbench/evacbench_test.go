package evacbench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestPercentiles_NearestRank(t *testing.T) {
	var ms []float64
	for i := 100; i >= 1; i-- {
		ms = append(ms, float64(i))
	}
	require.Equal(t, Percentiles{P50: 50, P90: 90, P99: 99, Max: 100}, percentiles(ms))
	require.Equal(t, Percentiles{P50: 7, P90: 7, P99: 7, Max: 7}, percentiles([]float64{7}))
	require.Equal(t, Percentiles{}, percentiles(nil))
}

// A VM that stayed, a broken invariant, a VM not migrated and a daemon
// that did not exit cleanly are each a problem, and the table shows them.
func TestReport_ProblemsAreShown(t *testing.T) {
	ok := Row{Batch: 1, VMs: 2, Migrated: 2, Timed: 2, Placement: map[string]int{"host-b": 2}}
	rep := &Report{Hosts: 2, VMs: 2, Source: "host-a", DaemonExit: "clean", Rows: []Row{ok}}
	require.Empty(t, rep.Problems())

	bad := Row{Batch: 2, VMs: 2, Migrated: 1, Errors: map[string]int{"unavailable": 1},
		Messages: []string{"vm-1: no room"}, Violations: []string{"VM vm-1 is still on host-a"},
		Placement: map[string]int{"host-a": 1, "host-b": 1}}
	rep.Rows = append(rep.Rows, bad)
	rep.DaemonExit = "host-b: exit: signal: killed"
	p := strings.Join(rep.Problems(), "\n")
	require.Contains(t, p, "batch 2: 1 VMs stayed: unavailable")
	require.Contains(t, p, "batch 2: VM vm-1 is still on host-a")
	require.Contains(t, p, "batch 2: 1 of 2 VMs migrated")
	require.Contains(t, p, "xenactord exit: host-b: exit: signal: killed")
	require.NotContains(t, p, "batch 1")

	var out bytes.Buffer
	WriteTable(&out, rep)
	require.Contains(t, out.String(), "problem: batch 2: VM vm-1 is still on host-a")
	require.Contains(t, out.String(), "error: batch 2: vm-1: no room")
	require.Contains(t, out.String(), "host-a=1 host-b=1")
}

func TestWorkerMain_NeedsAConfiguration(t *testing.T) {
	var out bytes.Buffer
	err := WorkerMain(context.Background(), strings.NewReader(""), &out)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	err = WorkerMain(context.Background(), strings.NewReader("{junk\n"), &out)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	require.Empty(t, out.String())
}

func TestOptions_Defaults(t *testing.T) {
	o := Options{}
	require.NoError(t, o.defaults())
	require.Equal(t, DefaultHosts, o.Hosts)
	require.Equal(t, DefaultVMs, o.VMs)
	require.Equal(t, DefaultBatches, o.Batches)
	require.NotNil(t, o.Worker)
	for _, bad := range []Options{{Hosts: 1}, {Hosts: 27}, {Batches: []int{0}}} {
		require.True(t, errdefs.IsInvalid(bad.defaults()), "%+v", bad)
	}
	require.Equal(t, "host-c", hostName(2))
}
