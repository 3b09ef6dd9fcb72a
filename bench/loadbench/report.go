package loadbench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

// Latency summarises latencies (nearest rank).
type Latency = stats.Latency

// OpRow is one kind of operation of a report.
type OpRow struct {
	Op string
	// Ops counts the successful operations; PerSecond is Ops over the
	// report's Elapsed.
	Ops       int
	PerSecond float64
	Latency   Latency
	// Errors counts its failures.
	Errors int `json:",omitempty"`
}

// LevelRow is one level of the scaling run.
type LevelRow struct {
	// Running is the VMs running while the probes started.
	Running int
	// Probes counts the probe starts that succeeded; Probe their latency.
	Probes int
	Probe  Latency
	// DaemonRSSKiB is the daemon's resident memory at the level, and
	// DaemonPerVMKiB its growth since the start over Running; the same
	// for the separate simulated host.
	DaemonRSSKiB    uint64
	DaemonPerVMKiB  float64
	SimHostRSSKiB   uint64  `json:",omitempty"`
	SimHostPerVMKiB float64 `json:",omitempty"`
	// Errors counts the probes' failures by kind.
	Errors map[string]int `json:",omitempty"`
}

// Report is one run of a scenario.
type Report struct {
	Config  Config
	Started time.Time
	// Elapsed is the time of the measured steps; Ops and PerSecond count
	// their successful operations.
	Elapsed   time.Duration
	Ops       int
	PerSecond float64
	// Kinds has a row per operation kind, by name.
	Kinds []OpRow
	// Errors counts the measured steps' failures by "<op>: <kind>";
	// Messages holds the first few. CleanupErrors are those of setting the
	// VMs up and removing them, outside the measurement.
	Errors        map[string]int `json:",omitempty"`
	Messages      []string       `json:",omitempty"`
	CleanupErrors map[string]int `json:",omitempty"`
	// Rates are the guests scenario's rates (Rate*).
	Rates map[string]float64 `json:",omitempty"`
	// Daemon and SimHost are the processes' resource use (nil when
	// unknown or not separate).
	Daemon  *Usage `json:",omitempty"`
	SimHost *Usage `json:",omitempty"`
	// RunningVMs is the most VMs running at once; DaemonPerVMKiB and
	// SimHostPerVMKiB the growth of the processes' resident memory over
	// them.
	RunningVMs      int
	DaemonPerVMKiB  float64 `json:",omitempty"`
	SimHostPerVMKiB float64 `json:",omitempty"`
	// Levels are the scaling run's.
	Levels []LevelRow `json:",omitempty"`
	// Points are the measured operations by kind, At relative to Started,
	// for the plots.
	Points map[string][]Point `json:",omitempty"`
	// DaemonExit is how the started xenactord (and simulated host) ended:
	// "clean" for status 0 after SIGTERM, else the error; "" when the run
	// drove a running daemon.
	DaemonExit string `json:",omitempty"`
}

// ErrorCount returns the failed operations, measured or not.
func (r *Report) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	for _, c := range r.CleanupErrors {
		n += c
	}
	return n
}

// measured adds the results of a measured step.
func (r *Report) measured(res []Result, start time.Time) {
	var el time.Duration
	for _, x := range res {
		el = max(el, x.Elapsed)
		for op, pts := range x.Points {
			if r.Points == nil {
				r.Points = make(map[string][]Point)
			}
			for _, p := range pts {
				p.At -= start.UnixNano()
				r.Points[op] = append(r.Points[op], p)
			}
		}
		for k, n := range x.Errors {
			if r.Errors == nil {
				r.Errors = make(map[string]int)
			}
			r.Errors[k] += n
		}
		for _, m := range x.Messages {
			if len(r.Messages) < maxMessages {
				r.Messages = append(r.Messages, m)
			}
		}
	}
	r.Elapsed += el
}

// unmeasured adds the failures of a step outside the measurement.
func (r *Report) unmeasured(res []Result) {
	for _, x := range res {
		for k, n := range x.Errors {
			if r.CleanupErrors == nil {
				r.CleanupErrors = make(map[string]int)
			}
			r.CleanupErrors[k] += n
		}
		for _, m := range x.Messages {
			if len(r.Messages) < maxMessages {
				r.Messages = append(r.Messages, "cleanup: "+m)
			}
		}
	}
}

// finish computes the rows from the points.
func (r *Report) finish(time.Time) {
	ops := slices.Sorted(maps.Keys(r.Points))
	for k := range r.Errors {
		op, _, _ := strings.Cut(k, ": ")
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	r.Kinds = nil
	r.Ops = 0
	for _, op := range ops {
		row := OpRow{Op: op, Ops: len(r.Points[op])}
		lat := make([]time.Duration, 0, row.Ops)
		for _, p := range r.Points[op] {
			lat = append(lat, p.Latency)
		}
		row.Latency = stats.Summarize(lat)
		for k, n := range r.Errors {
			if strings.HasPrefix(k, op+": ") {
				row.Errors += n
			}
		}
		if r.Elapsed > 0 {
			row.PerSecond = float64(row.Ops) / r.Elapsed.Seconds()
		}
		r.Ops += row.Ops
		r.Kinds = append(r.Kinds, row)
	}
	if r.Elapsed > 0 {
		r.PerSecond = float64(r.Ops) / r.Elapsed.Seconds()
	}
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// WriteTable writes r as the final table.
func (r *Report) WriteTable(w io.Writer) {
	c := r.Config
	if c.Scenario == ScenarioScale {
		fmt.Fprintf(w, "%s: VMs of %d MiB, concurrency %d over %d connection(s)", c.Scenario, c.MemoryMiB,
			c.Concurrency, c.Conns)
	} else {
		fmt.Fprintf(w, "%s: %d VMs of %d MiB, concurrency %d over %d connection(s)", c.Scenario, c.VMs, c.MemoryMiB,
			c.Concurrency, c.Conns)
	}
	switch c.Scenario {
	case ScenarioChurn:
		fmt.Fprintf(w, ", %s, weights %s, seed %d", c.Duration, c.Weights, c.Seed)
	case ScenarioGuests:
		fmt.Fprintf(w, ", agents every %s, for %s", c.Interval, c.Duration)
	case ScenarioHotplug:
		fmt.Fprintf(w, ", for %s", c.Duration)
	case ScenarioScale:
		fmt.Fprintf(w, ", levels %s, %d probes each", c.Levels, c.Probe)
	}
	if c.SimHost {
		fmt.Fprint(w, ", host in xenactor-simhost")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-12s %8s %10s %10s %10s %10s %10s %7s\n", "op", "ops", "ops/s", "p50", "p90", "p99", "max", "errors")
	for _, k := range r.Kinds {
		fmt.Fprintf(w, "%-12s %8d %10.1f %10s %10s %10s %10s %7d\n", k.Op, k.Ops, k.PerSecond, ms(k.Latency.P50),
			ms(k.Latency.P90), ms(k.Latency.P99), ms(k.Latency.Max), k.Errors)
	}
	fmt.Fprintf(w, "%-12s %8d %10.1f   in %s\n", "all", r.Ops, r.PerSecond, r.Elapsed.Round(time.Millisecond))
	for _, k := range slices.Sorted(maps.Keys(r.Rates)) {
		fmt.Fprintf(w, "%s: %.1f\n", k, r.Rates[k])
	}
	if len(r.Levels) > 0 {
		fmt.Fprintf(w, "%9s %7s %10s %10s %10s %12s %12s %12s %12s %7s\n", "running", "probes", "p50", "p99", "max",
			"daemon MiB", "KiB/VM", "simhost MiB", "KiB/VM", "errors")
		for _, l := range r.Levels {
			n := 0
			for _, e := range l.Errors {
				n += e
			}
			fmt.Fprintf(w, "%9d %7d %10s %10s %10s %12.1f %12.1f %12.1f %12.1f %7d\n", l.Running, l.Probes,
				ms(l.Probe.P50), ms(l.Probe.P99), ms(l.Probe.Max), float64(l.DaemonRSSKiB)/1024, l.DaemonPerVMKiB,
				float64(l.SimHostRSSKiB)/1024, l.SimHostPerVMKiB, n)
		}
	}
	if len(r.Errors) > 0 || len(r.CleanupErrors) > 0 {
		fmt.Fprintf(w, "errors: %s", joinCounts(r.Errors))
		if len(r.CleanupErrors) > 0 {
			fmt.Fprintf(w, "; outside the measurement: %s", joinCounts(r.CleanupErrors))
		}
		fmt.Fprintln(w)
		for _, m := range r.Messages {
			fmt.Fprintln(w, "  "+m)
		}
	} else {
		fmt.Fprintln(w, "errors: none")
	}
	usage := func(name string, u *Usage, perVM float64) {
		if u == nil {
			fmt.Fprintf(w, "%s: no pid, no CPU or memory figures\n", name)
			return
		}
		fmt.Fprintf(w, "%s (pid %d): %.2f CPU s, peak RSS %.1f MiB, RSS %.1f MiB, %.1f KiB per running VM (%d running)\n",
			name, u.PID, u.CPUSeconds, float64(u.PeakRSSKiB)/1024, float64(u.RSSKiB)/1024, perVM, r.RunningVMs)
	}
	usage("xenactord", r.Daemon, r.DaemonPerVMKiB)
	if r.SimHost != nil {
		usage("xenactor-simhost", r.SimHost, r.SimHostPerVMKiB)
	}
	if r.DaemonExit != "" {
		fmt.Fprintf(w, "exit: %s\n", r.DaemonExit)
	}
}

// joinCounts formats counts by key.
func joinCounts(m map[string]int) string {
	keys := slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
