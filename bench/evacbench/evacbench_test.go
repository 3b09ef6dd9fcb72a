package evacbench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
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

// The checks of an evacuation's outcome: a clean one has no violation; a
// VM left on the source, listed twice, not Running, listed elsewhere than
// reported or missing from the report, and a VM that stayed with its
// error, are each reported.
func TestCheck_FindsEveryBrokenInvariant(t *testing.T) {
	running := messages.PowerState_POWER_STATE_RUNNING
	uuids := []string{"vm-1", "vm-2"}
	migrated := func(u, to string) *messages.EvacuatedVM {
		return &messages.EvacuatedVM{Uuid: u, From: "host-a", To: to, How: "migrated"}
	}
	row := Row{Placement: map[string]int{}}
	check("host-a", uuids, []*messages.EvacuatedVM{migrated("vm-1", "host-b"), migrated("vm-2", "host-c")},
		map[string]where{"vm-1": {"host-b", running, 1}, "vm-2": {"host-c", running, 1}}, &row)
	require.Empty(t, row.Violations)
	require.Equal(t, 2, row.Migrated)
	require.Equal(t, map[string]int{"host-b": 1, "host-c": 1}, row.Placement)

	row = Row{Placement: map[string]int{}}
	stayed := &messages.EvacuatedVM{Uuid: "vm-2", From: "host-a", Error: &messages.Error{Kind: "unavailable",
		Message: "no route"}}
	check("host-a", uuids, []*messages.EvacuatedVM{migrated("vm-1", "host-b"), stayed},
		map[string]where{"vm-1": {"host-c", running, 1}, "vm-2": {"host-a", running, 1},
			"other": {"host-a", messages.PowerState_POWER_STATE_HALTED, 1}}, &row)
	require.Equal(t, 1, row.Migrated)
	require.Equal(t, map[string]int{"unavailable": 1}, row.Errors)
	require.Equal(t, []string{"vm-2: no route"}, row.Messages)
	v := strings.Join(row.Violations, "\n")
	require.Contains(t, v, "VM vm-1 reported on host-b, listed on host-c")
	require.Contains(t, v, "VM vm-2 is still on host-a")
	require.Contains(t, v, "VM other is still on host-a", "no VM at all on the source")

	row = Row{Placement: map[string]int{}}
	check("host-a", uuids, []*messages.EvacuatedVM{migrated("vm-1", "host-b"), migrated("vm-1", "host-b")},
		map[string]where{"vm-1": {"host-b", running, 2}}, &row)
	v = strings.Join(row.Violations, "\n")
	require.Contains(t, v, "VM vm-1 reported twice")
	require.Contains(t, v, "VM vm-1 is listed 2 times")
	require.Contains(t, v, "VM vm-2 is on no host")
	require.Contains(t, v, "VM vm-2 missing from the evacuation's report")

	row = Row{Placement: map[string]int{}}
	check("host-a", uuids, []*messages.EvacuatedVM{migrated("vm-1", "host-b"), {Uuid: "vm-2", How: "moved",
		To: "host-b"}}, map[string]where{"vm-1": {"host-b", messages.PowerState_POWER_STATE_PAUSED, 1},
		"vm-2": {"host-b", running, 1}}, &row)
	v = strings.Join(row.Violations, "\n")
	require.Contains(t, v, "VM vm-1 is POWER_STATE_PAUSED on host-b")
	require.Contains(t, v, `VM vm-2 reported "moved" to "host-b"`)
}

// The timings come from the latest completed VM.migrate task of each VM
// created since the evacuation started; other tasks are left out, and a
// VM migrated without its task is a violation.
func TestFromTasks_TakesTheEvacuationsMigrations(t *testing.T) {
	start := time.Unix(1000, 0)
	task := func(kind, subject string, created time.Time, state messages.TaskState, durMS int, downMS float64) *messages.Task {
		res, err := json.Marshal(map[string]any{"downtime_ms": downMS, "bytes_sent": 100, "iterations": 1})
		require.NoError(t, err)
		return &messages.Task{Kind: kind, Subject: subject, State: state, CreatedUnixNano: created.UnixNano(),
			DurationNanos: int64(durMS) * int64(time.Millisecond), Result: res}
	}
	done, failed := messages.TaskState_TASK_STATE_COMPLETED, messages.TaskState_TASK_STATE_FAILED
	tasks := []*messages.Task{
		task("VM.migrate", "vm-1", start.Add(-time.Second), done, 1000, 1000), // before
		task("VM.migrate", "vm-1", start.Add(time.Millisecond), done, 10, 1),
		task("VM.migrate", "vm-2", start.Add(time.Millisecond), failed, 500, 500),
		task("VM.migrate", "vm-2", start.Add(2*time.Millisecond), done, 30, 3),
		task("VM.start", "vm-2", start.Add(3*time.Millisecond), done, 900, 900),
		task("VM.migrate", "not-ours", start.Add(time.Millisecond), done, 700, 700),
	}
	row := Row{Migrated: 2}
	fromTasks(tasks, start, map[string]bool{"vm-1": true, "vm-2": true}, &row)
	require.Equal(t, 2, row.Timed)
	require.Equal(t, 30.0, row.Migration.Max)
	require.Equal(t, 10.0, row.Migration.P50)
	require.Equal(t, 3.0, row.Downtime.Max)
	require.Equal(t, int64(200), row.BytesSent)
	require.Empty(t, row.Violations)

	row = Row{Migrated: 3}
	fromTasks(tasks, start, map[string]bool{"vm-1": true, "vm-2": true, "vm-3": true}, &row)
	require.Equal(t, []string{"2 VM.migrate tasks completed on the evacuated host for 3 VMs migrated"}, row.Violations)
}

// The storm's flags, its -f file and the flags given with it; bad values
// are refused.
func TestParseStormArgs(t *testing.T) {
	c, out, err := ParseStormArgs([]string{"-vms", "8", "-concurrency", "3", "-duration", "1m", "-json", "-plot", "p"})
	require.NoError(t, err)
	require.Equal(t, 8, c.VMs)
	require.Equal(t, 3, c.Concurrency)
	require.Equal(t, time.Minute, time.Duration(c.Duration))
	require.Equal(t, 2, c.Hosts, "the default")
	require.True(t, c.Live)
	require.True(t, out.JSON)
	require.Equal(t, "p", out.Plot)

	file := t.TempDir() + "/storm.json"
	require.NoError(t, os.WriteFile(file, []byte(`{"hosts": 3, "vms": 30, "duration": "5s", "compress": true}`), 0o644))
	c, _, err = ParseStormArgs([]string{"-f", file, "-vms", "12"})
	require.NoError(t, err)
	require.Equal(t, 3, c.Hosts)
	require.Equal(t, 12, c.VMs, "a flag given overrides the file")
	require.True(t, c.Compress)
	require.Equal(t, 5*time.Second, time.Duration(c.Duration))
	require.Equal(t, DefaultStormConfig().Concurrency, c.Concurrency, "the defaults fill the rest")

	require.NoError(t, os.WriteFile(file, []byte(`{"hosts": 3, "nonsense": 1}`), 0o644))
	_, _, err = ParseStormArgs([]string{"-f", file})
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	for _, args := range [][]string{{"-hosts", "1"}, {"-vms", "2", "-concurrency", "3"}, {"-duration", "0s"},
		{"extra"}} {
		_, _, err := ParseStormArgs(args)
		require.True(t, errdefs.IsInvalid(err), "%v: %v", args, err)
	}
}

// A storm's report: the throughput and percentiles of the successful
// migrations, the failed ones by kind, and the problems.
func TestStormReport(t *testing.T) {
	res := &stormResult{Elapsed: 2 * time.Second, Samples: []StormSample{
		{Latency: 100 * time.Millisecond, DowntimeMS: 5, From: "host-a", To: "host-b"},
		{Latency: 300 * time.Millisecond, DowntimeMS: 7, From: "host-b", To: "host-a"},
		{Latency: time.Second, DowntimeMS: -1, From: "host-a", To: "host-b", Error: "timeout"},
	}, Messages: []string{"vm-1 from host-a to host-b: timed out"}}
	rep := newStormReport(DefaultStormConfig(), res, nil)
	rep.DaemonExit = "clean"
	require.Equal(t, 2, rep.Migrations)
	require.Equal(t, 1, rep.Failed)
	require.InDelta(t, 1.0, rep.PerSecond, 1e-9)
	require.Equal(t, Percentiles{P50: 100, P90: 300, P99: 300, Max: 300}, rep.Latency)
	require.Equal(t, Percentiles{P50: 5, P90: 7, P99: 7, Max: 7}, rep.Downtime)
	require.Equal(t, []string{"1 migrations failed: timeout"}, rep.Problems())
	var out bytes.Buffer
	WriteStormTable(&out, rep)
	require.Contains(t, out.String(), "problem: 1 migrations failed: timeout")
	require.Contains(t, out.String(), "error: vm-1 from host-a to host-b: timed out")
	plots := rep.Plots()
	require.Len(t, plots[PlotStormLatency].Series, 3, "two directions and the failures")
	require.Len(t, plots[PlotStormDowntime].Series, 2)
}
