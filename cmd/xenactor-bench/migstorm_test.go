package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/evacbench"
	"github.com/xenactor/xenactor/bench/loadbench"
	"github.com/xenactor/xenactor/internal/testenv"
)

// The migration storm, short: etcd, two real xenactord (built) in a pool,
// four VMs spread over them migrated back and forth two at a time for two
// seconds. Migrations succeed in both directions, each with a latency and
// a downtime, none fails, every VM runs once where its last migration left
// it, both daemons used CPU and exited cleanly, and the table and plots
// are written.
func TestMigstorm_ShortRunIsComplete(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build xenactord")
	}
	etcd := testenv.RequireExternal(t, "etcd")["etcd"]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	worker := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envEvacWorker+"=1")
		return cmd
	}
	cfg := evacbench.DefaultStormConfig()
	cfg.VMs, cfg.MemoryMiB, cfg.Concurrency, cfg.Duration, cfg.Etcd = 4, 8, 2, loadbench.Duration(2*time.Second), etcd
	var progress []string
	rep, err := evacbench.RunStorm(ctx, cfg, evacbench.StormOptions{Worker: worker,
		Progress: func(format string, args ...any) { progress = append(progress, format) }})
	require.NoError(t, err)
	require.Empty(t, rep.Problems())
	require.Equal(t, "clean", rep.DaemonExit)
	require.Positive(t, rep.Migrations)
	require.Zero(t, rep.Failed)
	require.Positive(t, rep.PerSecond)
	require.Positive(t, rep.Latency.P50)
	require.GreaterOrEqual(t, rep.Latency.Max, rep.Latency.P99)
	require.Positive(t, rep.Downtime.Max, "the tasks report a downtime")
	require.Len(t, rep.Samples, rep.Migrations)
	dirs := map[string]int{}
	for _, s := range rep.Samples {
		require.NotEqual(t, s.From, s.To)
		dirs[s.From+">"+s.To]++
	}
	if rep.Migrations >= 4 {
		require.Len(t, dirs, 2, "both directions: %v", dirs)
	}
	require.Len(t, rep.Daemons, 2)
	for _, d := range rep.Daemons {
		require.Positive(t, d.PID)
		require.Positive(t, d.PeakRSSKiB)
	}
	require.NotEmpty(t, progress)

	var out bytes.Buffer
	evacbench.WriteStormTable(&out, rep)
	require.Contains(t, out.String(), "errors: none")
	require.Contains(t, out.String(), "xenactord exit: clean")
	require.NotContains(t, out.String(), "problem:")
	paths, err := rep.WritePlots(t.TempDir())
	require.NoError(t, err)
	require.Len(t, paths, 2)
	b, err := os.ReadFile(paths[1])
	require.NoError(t, err)
	require.Contains(t, string(b), "host-a -&gt; host-b", filepath.Base(paths[1]))
}
