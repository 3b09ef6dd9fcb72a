package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/loadbench"
)

// envLoadWorker makes the test binary a load worker process.
const envLoadWorker = "XENACTOR_BENCH_TEST_LOAD_WORKER"

// testLoadWorker re-executes the test binary as a load worker.
func testLoadWorker() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envLoadWorker+"=1")
	return cmd
}

// Each load scenario, tiny, through a real xenactord (built once) and
// worker processes: every operation kind it runs has its row, no
// operation failed, the daemon's CPU and memory are there, the plots are
// written, and the daemon exited cleanly.
func TestLoad_TinyScenariosAreComplete(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build xenactord")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bins := t.TempDir()
	xenactord, err := loadbench.Build(ctx, bins, loadbench.XenactordPackage, "xenactord")
	require.NoError(t, err)
	simhost, err := loadbench.Build(ctx, bins, loadbench.SimHostPackage, "xenactor-simhost")
	require.NoError(t, err)
	profiles := t.TempDir()

	cases := []struct {
		args []string
		ops  []string
		// more checks the scenario's own parts of the report.
		more func(t *testing.T, rep *loadbench.Report)
	}{
		{args: []string{"storm", "-vms", "6", "-concurrency", "4", "-conns", "2"},
			ops: []string{loadbench.OpCreate, loadbench.OpStart},
			more: func(t *testing.T, rep *loadbench.Report) {
				require.Equal(t, 6, rep.RunningVMs)
				require.Len(t, rep.Points[loadbench.OpStart], 6)
			}},
		{args: []string{"churn", "-vms", "4", "-concurrency", "2", "-duration", "1500ms",
			"-weights", "start=1,shutdown=1,reboot=1,pause=1,unpause=1"},
			ops: []string{loadbench.OpStart, loadbench.OpShutdown}},
		{args: []string{"guests", "-vms", "3", "-interval", "100ms", "-duration", "2500ms"},
			more: func(t *testing.T, rep *loadbench.Report) {
				require.Positive(t, rep.Rates[loadbench.RateReads], "%v", rep.Rates)
				require.Contains(t, rep.Rates, loadbench.RateChanges)
				require.Contains(t, rep.Rates, loadbench.RateEvents)
			}},
		{args: []string{"hotplug", "-vms", "2", "-concurrency", "2", "-duration", "1s"},
			ops: []string{loadbench.OpPlugVBD, loadbench.OpUnplugVBD, loadbench.OpPlugVIF, loadbench.OpUnplugVIF}},
		{args: []string{"scale", "-levels", "2,5", "-probe", "2", "-concurrency", "2", "-conns", "2", "-simhost",
			"-simhost-bin", simhost, "-profile", profiles, "-profile-length", "1s"},
			ops: []string{loadbench.OpCreate, loadbench.OpStart, loadbench.OpProbe},
			more: func(t *testing.T, rep *loadbench.Report) {
				require.Len(t, rep.Levels, 2)
				for i, want := range []int{2, 5} {
					l := rep.Levels[i]
					require.Equal(t, want, l.Running)
					require.Equal(t, 2, l.Probes)
					require.Positive(t, l.Probe.P50)
					require.Positive(t, l.DaemonRSSKiB)
					require.Positive(t, l.SimHostRSSKiB)
				}
				require.NotNil(t, rep.SimHost)
				require.Positive(t, rep.SimHost.PeakRSSKiB)
				// -profile: CPU profiles of both processes during each fill.
				for _, name := range []string{"xenactord-fill-2-1.pprof", "xenactor-simhost-fill-2-1.pprof",
					"xenactord-fill-5-1.pprof", "xenactor-simhost-fill-5-1.pprof"} {
					st, err := os.Stat(filepath.Join(profiles, name))
					require.NoError(t, err)
					require.Positive(t, st.Size(), name)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.args[0], func(t *testing.T) {
			cfg, _, err := loadbench.ParseArgs(tc.args[0], append(tc.args[1:], "-xenactord", xenactord))
			require.NoError(t, err)
			rep, err := loadbench.Run(ctx, cfg, loadbench.Options{Worker: testLoadWorker})
			require.NoError(t, err)
			require.Zero(t, rep.ErrorCount(), "%v %v %v", rep.Errors, rep.CleanupErrors, rep.Messages)
			require.Equal(t, "clean", rep.DaemonExit)
			require.NotNil(t, rep.Daemon)
			require.Positive(t, rep.Daemon.PeakRSSKiB)
			require.Positive(t, rep.RunningVMs)
			kinds := make(map[string]loadbench.OpRow)
			for _, k := range rep.Kinds {
				kinds[k.Op] = k
			}
			for _, op := range tc.ops {
				k, ok := kinds[op]
				require.True(t, ok, "no %s row in %v", op, rep.Kinds)
				require.Positive(t, k.Ops, op)
				require.Positive(t, k.Latency.P50, op)
				require.GreaterOrEqual(t, k.Latency.Max, k.Latency.P99, op)
			}
			if tc.more != nil {
				tc.more(t, rep)
			}

			var table bytes.Buffer
			rep.WriteTable(&table)
			require.Contains(t, table.String(), "errors: none")
			require.Contains(t, table.String(), "exit: clean")
			paths, err := rep.WritePlots(filepath.Join(t.TempDir(), "plots"))
			require.NoError(t, err)
			require.NotEmpty(t, paths)
		})
	}
}

// lockedWriter collects a process's output for the test's reads.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// With -config, -pid and -metrics a scenario drives a daemon it did not
// start: the report has the daemon's CPU and memory and the guest
// counters from its /metrics, and the daemon is left running.
func TestLoad_DrivesARunningDaemon(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build xenactord")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := loadbench.Build(ctx, dir, loadbench.XenactordPackage, "xenactord")
	require.NoError(t, err)
	state := filepath.Join(dir, "state")
	daemon := exec.Command(bin, "-api-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-run-dir", dir,
		"-state-dir", state)
	var stderr lockedWriter
	daemon.Stderr = &stderr
	require.NoError(t, daemon.Start())
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	defer func() {
		require.NoError(t, daemon.Process.Signal(syscall.SIGTERM))
		require.NoError(t, <-exited, stderr.String())
	}()
	var metrics string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`xenactord ready.* metrics=([0-9.]+:[0-9]+)`).FindStringSubmatch(stderr.String())
		if m != nil {
			metrics = m[1]
		}
		return m != nil
	}, time.Minute, 20*time.Millisecond, "xenactord not ready: %s", &stderr)

	cfg, _, err := loadbench.ParseArgs(loadbench.ScenarioGuests, []string{"-vms", "2", "-interval", "100ms",
		"-duration", "2500ms", "-config", filepath.Join(state, "api", "client.json"),
		"-pid", strconv.Itoa(daemon.Process.Pid), "-metrics", metrics})
	require.NoError(t, err)
	rep, err := loadbench.Run(ctx, cfg, loadbench.Options{Worker: testLoadWorker})
	require.NoError(t, err)
	require.Zero(t, rep.ErrorCount(), "%v", rep.Messages)
	require.Empty(t, rep.DaemonExit, "not started by the run")
	require.NotNil(t, rep.Daemon)
	require.Equal(t, daemon.Process.Pid, rep.Daemon.PID)
	require.Positive(t, rep.Daemon.PeakRSSKiB)
	require.Positive(t, rep.Rates[loadbench.RateReads], "%v", rep.Rates)
	select {
	case err := <-exited:
		t.Fatalf("the daemon exited during the run: %v", err)
	default:
	}
}
