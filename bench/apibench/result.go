package apibench

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

// The paths of a Row.
const (
	PathAPI       = "api"       // over the network, one worker process per client
	PathInProcess = "inprocess" // client.InProcess, one goroutine per client
)

// Latency summarises latencies (nearest rank).
type Latency = stats.Latency

// Row is one scenario on one path with one number of clients.
type Row struct {
	// Scenario is ScenarioStat, ScenarioVMOps (every operation of it) or
	// ScenarioVMOps + "/" + an operation (OpCreate, ...).
	Scenario string
	Path     string
	Clients  int
	// PerConn is the goroutines of each client.
	PerConn int
	// Ops counts the successful calls; PerSecond is Ops over Elapsed, the
	// longest client's time.
	Ops       int
	Elapsed   time.Duration
	PerSecond float64
	Latency   Latency
	// Errors counts the failed calls by "<op>: <kind>"; Messages holds the
	// first few.
	Errors   map[string]int `json:",omitempty"`
	Messages []string       `json:",omitempty"`
	// Ratio, on an API row, is its PerSecond over the in-process row's of
	// the same scenario and clients; 0 when there is none.
	Ratio float64 `json:",omitempty"`
}

// ErrorCount returns the row's failed calls.
func (r Row) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Report is one run of the benchmark.
type Report struct {
	Clients []int
	PerConn []int
	// Count is the number of runs each row is the median of.
	Count     int
	Duration  time.Duration
	VMs       int
	MemoryKiB uint64
	// WorkerGOMAXPROCS is the GOMAXPROCS of the worker processes.
	WorkerGOMAXPROCS int
	Rows             []Row
	// DaemonExit is how xenactord ended: "clean" for status 0 after
	// SIGTERM, else the error.
	DaemonExit string
}

// ErrorCount returns the failed calls of every row that is not a part of
// another (the VM operations are counted once).
func (r *Report) ErrorCount() int {
	n := 0
	for _, row := range r.Rows {
		if !strings.Contains(row.Scenario, "/") {
			n += row.ErrorCount()
		}
	}
	return n
}

// aggregate merges the samples of the clients of one phase into the row of
// scenario, counting the operations ops.
func aggregate(scenario, path string, clients, perConn int, samples [][]Sample, ops ...string) Row {
	row := Row{Scenario: scenario, Path: path, Clients: clients, PerConn: perConn}
	var lat []time.Duration
	for _, s := range slices.Concat(samples...) {
		row.Elapsed = max(row.Elapsed, s.Elapsed)
		for _, op := range ops {
			lat = append(lat, s.Latencies[op]...)
		}
		for k, n := range s.Errors {
			if !slices.ContainsFunc(ops, func(op string) bool { return strings.HasPrefix(k, op+": ") }) {
				continue
			}
			if row.Errors == nil {
				row.Errors = make(map[string]int)
			}
			row.Errors[k] += n
		}
		for _, m := range s.Messages {
			if len(row.Messages) < maxErrorTexts &&
				slices.ContainsFunc(ops, func(op string) bool { return strings.HasPrefix(m, op+": ") }) {
				row.Messages = append(row.Messages, m)
			}
		}
	}
	row.Ops = len(lat)
	if row.Elapsed > 0 {
		row.PerSecond = float64(row.Ops) / row.Elapsed.Seconds()
	}
	row.Latency = stats.Summarize(lat)
	return row
}

// medians returns, for each row of the first run, the same row of the run
// with the median ops/s (the lower middle of an even count); the errors
// are those of every run.
func medians(runs [][]Row) []Row {
	if len(runs) == 0 {
		return nil
	}
	same := func(a, b Row) bool {
		return a.Scenario == b.Scenario && a.Path == b.Path && a.Clients == b.Clients && a.PerConn == b.PerConn
	}
	out := make([]Row, 0, len(runs[0]))
	for _, first := range runs[0] {
		var rows []Row
		for _, run := range runs {
			if i := slices.IndexFunc(run, func(r Row) bool { return same(r, first) }); i >= 0 {
				rows = append(rows, run[i])
			}
		}
		slices.SortStableFunc(rows, func(a, b Row) int { return cmp.Compare(a.PerSecond, b.PerSecond) })
		med := rows[(len(rows)-1)/2]
		med.Errors, med.Messages = nil, nil
		for _, r := range rows {
			for k, n := range r.Errors {
				if med.Errors == nil {
					med.Errors = make(map[string]int)
				}
				med.Errors[k] += n
			}
			for _, m := range r.Messages {
				if len(med.Messages) < maxErrorTexts {
					med.Messages = append(med.Messages, m)
				}
			}
		}
		out = append(out, med)
	}
	return out
}

// ratios sets the Ratio of each API row.
func ratios(rows []Row) {
	for i, r := range rows {
		if r.Path != PathAPI {
			continue
		}
		j := slices.IndexFunc(rows, func(o Row) bool {
			return o.Path == PathInProcess && o.Scenario == r.Scenario && o.Clients == r.Clients &&
				o.PerConn == r.PerConn
		})
		if j >= 0 && rows[j].PerSecond > 0 {
			rows[i].Ratio = r.PerSecond / rows[j].PerSecond
		}
	}
}

// WriteTable prints r as an aligned table, rows grouped by scenario and
// clients, the in-process row before the API row, then the errors.
func WriteTable(w io.Writer, r *Report) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	runs := "one run"
	if r.Count > 1 {
		runs = fmt.Sprintf("the median of %d runs", r.Count)
	}
	fmt.Fprintf(w, "stat for %s per step; vm-ops: %d VMs of %d MiB shared by the clients; "+
		"API workers at GOMAXPROCS=%d; %s\n", r.Duration, r.VMs, r.MemoryKiB>>10, r.WorkerGOMAXPROCS, runs)
	fmt.Fprintf(w, "%-16s %-9s %7s %8s %7s %10s %9s %9s %9s %9s %6s %10s\n", "scenario", "path", "clients",
		"per-conn", "ops", "ops/s", "p50", "p90", "p99", "max", "errors", "api/inproc")
	for _, row := range sortedRows(r.Rows) {
		ratio := ""
		if row.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", row.Ratio)
		}
		fmt.Fprintf(w, "%-16s %-9s %7d %8d %7d %10.1f %9s %9s %9s %9s %6d %10s\n", row.Scenario, row.Path,
			row.Clients, row.PerConn, row.Ops, row.PerSecond, ms(row.Latency.P50), ms(row.Latency.P90), ms(row.Latency.P99),
			ms(row.Latency.Max), row.ErrorCount(), ratio)
	}
	for _, row := range r.Rows {
		if strings.Contains(row.Scenario, "/") {
			continue // its errors are its scenario's
		}
		for _, k := range slices.Sorted(maps.Keys(row.Errors)) {
			fmt.Fprintf(w, "errors: %s %s %d clients x %d: %s x%d\n", row.Scenario, row.Path, row.Clients,
				row.PerConn, k, row.Errors[k])
		}
		for _, m := range row.Messages {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	fmt.Fprintf(w, "xenactord exit: %s\n", r.DaemonExit)
}

// sortedRows orders rows by scenario (as first seen), clients, goroutines
// per client, then the
// in-process path first.
func sortedRows(rows []Row) []Row {
	var scenarios []string
	for _, r := range rows {
		if !slices.Contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
	}
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b Row) int {
		if c := slices.Index(scenarios, a.Scenario) - slices.Index(scenarios, b.Scenario); c != 0 {
			return c
		}
		if c := a.Clients - b.Clients; c != 0 {
			return c
		}
		if c := a.PerConn - b.PerConn; c != 0 {
			return c
		}
		return strings.Compare(b.Path, a.Path) // "inprocess" before "api"
	})
	return out
}
