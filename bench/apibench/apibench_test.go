package apibench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestAggregate_MergesClientsAndKeepsTheirErrors(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	samples := [][]Sample{
		{{Elapsed: ms(1000), Latencies: map[string][]time.Duration{OpCreate: {ms(1), ms(2)}, OpStart: {ms(10)}},
			Errors: map[string]int{"start: busy": 1}, Messages: []string{"start: the VM is busy"}}},
		{{Elapsed: ms(2000), Latencies: map[string][]time.Duration{OpCreate: {ms(3), ms(4)}},
			Errors: map[string]int{"create: exists": 2}}},
	}
	all := aggregate(ScenarioVMOps, PathAPI, 2, 1, samples, VMOps...)
	require.Equal(t, 5, all.Ops)
	require.Equal(t, ms(2000), all.Elapsed, "the longest client's time")
	require.InDelta(t, 2.5, all.PerSecond, 1e-9)
	require.Equal(t, map[string]int{"start: busy": 1, "create: exists": 2}, all.Errors)
	require.Equal(t, 3, all.ErrorCount())
	require.Equal(t, Latency{P50: ms(3), P90: ms(10), P99: ms(10), Max: ms(10)}, all.Latency)

	create := aggregate(ScenarioVMOps+"/"+OpCreate, PathAPI, 2, 1, samples, OpCreate)
	require.Equal(t, 4, create.Ops)
	require.Equal(t, map[string]int{"create: exists": 2}, create.Errors, "only its own operation's errors")
	require.Empty(t, create.Messages)
	require.Equal(t, ms(2), create.Latency.P50)
}

func TestMediansAndRatios(t *testing.T) {
	row := func(path string, perSec float64, errs map[string]int) Row {
		return Row{Scenario: ScenarioStat, Path: path, Clients: 1, PerConn: 1, PerSecond: perSec, Errors: errs}
	}
	runs := [][]Row{
		{row(PathInProcess, 100, nil), row(PathAPI, 10, nil)},
		{row(PathAPI, 30, map[string]int{"stat: timeout": 1}), row(PathInProcess, 300, nil)},
		{row(PathInProcess, 200, nil), row(PathAPI, 20, nil)},
	}
	rows := medians(runs)
	require.Len(t, rows, 2)
	require.Equal(t, 200.0, rows[0].PerSecond)
	require.Equal(t, 20.0, rows[1].PerSecond)
	require.Equal(t, map[string]int{"stat: timeout": 1}, rows[1].Errors, "the errors of every run")
	ratios(rows)
	require.Zero(t, rows[0].Ratio)
	require.InDelta(t, 0.1, rows[1].Ratio, 1e-9)

	rep := &Report{Rows: rows, DaemonExit: "clean"}
	require.Equal(t, 1, rep.ErrorCount())
	var out bytes.Buffer
	WriteTable(&out, rep)
	require.Contains(t, out.String(), "errors: stat api 1 clients x 1: stat: timeout x1")
	lines := strings.Split(out.String(), "\n")
	require.True(t, strings.HasPrefix(lines[2], "stat             inprocess"), "%q", lines[2])
	require.Contains(t, lines[3], "0.10")
}

func TestWorkerMain_NeedsAClientConfig(t *testing.T) {
	var out bytes.Buffer
	err := WorkerMain(context.Background(), strings.NewReader(""), &out)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	require.Empty(t, out.String(), "no ready line without a connection")
}

func TestVMSpec_UniqueMACsAndValidUUIDs(t *testing.T) {
	seen := make(map[string]bool)
	for run := range 3 {
		for i := range 300 {
			spec := vmSpec(vmUUID(run, i), 64<<10)
			require.Len(t, spec.GetUuid(), 36)
			if run == 0 {
				mac := spec.GetVifs()[0].GetMac()
				require.False(t, seen[mac], "%s twice", mac)
				seen[mac] = true
			}
		}
	}
	require.NotEqual(t, vmUUID(0, 1), vmUUID(1, 1))
}
