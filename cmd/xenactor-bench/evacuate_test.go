package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/evacbench"
	"github.com/xenactor/xenactor/internal/testenv"
)

// envEvacWorker makes the test binary the evacuation benchmark's worker.
const envEvacWorker = "XENACTOR_BENCH_TEST_EVAC_WORKER"

// The evacuation benchmark, tiny: etcd, two real xenactord (built) in a
// pool, three running VMs on host-a evacuated one at a time and then all at
// once. Each row is complete (every VM migrated and timed, a downtime
// reported), no VM stayed, every VM runs once on host-b and none on
// host-a, and every daemon exited cleanly.
func TestEvacuate_TinyRunIsComplete(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build xenactord")
	}
	etcd := testenv.RequireExternal(t, "etcd")["etcd"]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const vms = 3
	worker := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envEvacWorker+"=1")
		return cmd
	}
	var progress []string
	rep, err := evacbench.Run(ctx, evacbench.Options{Hosts: 2, VMs: vms, MemoryMiB: 8, Batches: []int{1, 3},
		Etcd: etcd, Worker: worker, Progress: func(format string, args ...any) {
			progress = append(progress, format)
		}})
	require.NoError(t, err)
	require.Empty(t, rep.Problems())
	require.Equal(t, "clean", rep.DaemonExit)
	require.Equal(t, "host-a", rep.Source)
	require.Len(t, rep.Rows, 2)
	for i, batch := range []int{1, 3} {
		r := rep.Rows[i]
		require.Equal(t, batch, r.Batch)
		require.Equal(t, vms, r.VMs)
		require.Equal(t, vms, r.Migrated)
		require.Equal(t, vms, r.Timed, "a VM.migrate task for each VM")
		require.Empty(t, r.Errors)
		require.Empty(t, r.Violations)
		require.Equal(t, map[string]int{"host-b": vms}, r.Placement)
		require.Positive(t, r.TotalMS)
		require.Positive(t, r.VMsPerSecond)
		require.Positive(t, r.Migration.P50)
		require.GreaterOrEqual(t, r.Migration.Max, r.Migration.P99)
		require.GreaterOrEqual(t, r.Migration.P99, r.Migration.P90)
		require.Positive(t, r.Downtime.Max, "the tasks report a downtime")
		require.Positive(t, r.BytesSent, "the tasks report the bytes sent")
	}
	require.NotEmpty(t, progress)

	var out bytes.Buffer
	evacbench.WriteTable(&out, rep)
	require.Contains(t, out.String(), "xenactord exit: clean")
	require.NotContains(t, out.String(), "problem:")
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 5, out.String())
}
