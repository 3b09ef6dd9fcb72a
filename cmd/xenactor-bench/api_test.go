package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/apibench"
)

// envAPIWorker makes the test binary an API worker process.
const envAPIWorker = "XENACTOR_BENCH_TEST_API_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envLoadWorker) != "" {
		if err := loadWorkerCmd(); err != nil {
			fmt.Fprintln(os.Stderr, "load worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envEvacWorker) != "" {
		if err := evacWorkerCmd(); err != nil {
			fmt.Fprintln(os.Stderr, "evacuate worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envAPIWorker) != "" {
		if err := apiWorkerCmd(); err != nil {
			fmt.Fprintln(os.Stderr, "api worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testWorker re-executes the test binary as a worker.
func testWorker() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envAPIWorker+"=1")
	return cmd
}

// The API benchmark, tiny, twice (the paths' order alternating), through
// the real xenactord (built) and worker processes, and in process: every
// scenario has its row on both paths at
// each client count and number of goroutines per client, every call
// succeeded, each API row has its ratio, and the daemon exited cleanly.
func TestAPI_TinyRunIsComplete(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build xenactord")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const vms = 3
	rep, err := apibench.Run(ctx, apibench.Options{Clients: []int{1, 2}, Duration: 200 * time.Millisecond, VMs: vms,
		PerConn: []int{1, 2}, Count: 2, Worker: testWorker, InProcess: startInProcessAPI})
	require.NoError(t, err)
	require.Equal(t, "clean", rep.DaemonExit)
	require.Equal(t, 2, rep.Count)
	require.Zero(t, rep.ErrorCount())

	type key struct {
		scenario, path   string
		clients, perConn int
	}
	rows := make(map[key]apibench.Row)
	for _, r := range rep.Rows {
		k := key{r.Scenario, r.Path, r.Clients, r.PerConn}
		require.NotContains(t, rows, k, "one row each")
		rows[k] = r
	}
	scenarios := []string{apibench.ScenarioStat, apibench.ScenarioVMOps}
	for _, op := range apibench.VMOps {
		scenarios = append(scenarios, apibench.ScenarioVMOps+"/"+op)
	}
	require.Len(t, rows, len(scenarios)*2*2*2)
	for _, s := range scenarios {
		for _, path := range []string{apibench.PathInProcess, apibench.PathAPI} {
			for _, k := range []key{{s, path, 1, 1}, {s, path, 1, 2}, {s, path, 2, 1}, {s, path, 2, 2}} {
				r, ok := rows[k]
				require.True(t, ok, "%+v", k)
				require.Empty(t, r.Errors, "%+v: %v", k, r.Messages)
				require.Positive(t, r.Ops, "%+v", k)
				require.Positive(t, r.PerSecond)
				require.Positive(t, r.Latency.P50)
				require.GreaterOrEqual(t, r.Latency.Max, r.Latency.P99)
				switch s {
				case apibench.ScenarioStat:
				case apibench.ScenarioVMOps:
					require.Equal(t, vms*len(apibench.VMOps), r.Ops, "%+v", k)
				default:
					require.Equal(t, vms, r.Ops, "%+v", k)
				}
				if path == apibench.PathAPI {
					require.Positive(t, r.Ratio, "%+v", k)
				} else {
					require.Zero(t, r.Ratio)
				}
			}
		}
	}

	var out bytes.Buffer
	apibench.WriteTable(&out, rep)
	require.Contains(t, out.String(), "xenactord exit: clean")
	require.Contains(t, out.String(), "vm-ops/start")
}

// Failed calls are counted by kind, never hidden: stat of a VM the daemon
// does not have fails with not_found on every call.
func TestAPI_ErrorsAreCountedByKind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, stop, err := startInProcessAPI(ctx, t.TempDir(), 1024)
	require.NoError(t, err)
	defer func() { require.NoError(t, stop()) }()

	s, err := apibench.RunPhase(ctx, c, apibench.Phase{Scenario: apibench.ScenarioStat, Duration: 50 * time.Millisecond,
		UUID: "a9b0e000-0000-4000-8000-00000000dead"})
	require.NoError(t, err)
	require.Empty(t, s.Latencies[apibench.OpStat])
	require.Positive(t, s.Errors["stat: not_found"], "%v", s.Errors)
	require.Len(t, s.Errors, 1)
	require.NotEmpty(t, s.Messages)
}
