package bootstorm

import (
	"fmt"
	"io"
	"time"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

// Latency summarises start latencies (nearest rank).
type Latency = stats.Latency

// latency summarises the non-zero durations of ds.
func latency(ds []time.Duration) Latency {
	s := make([]time.Duration, 0, len(ds))
	for _, d := range ds {
		if d > 0 {
			s = append(s, d)
		}
	}
	return stats.Summarize(s)
}

// StormResult is the boot storm's outcome.
type StormResult struct {
	VMs         int
	Concurrency int
	// Started and Failed count the starts; Errors holds the first few
	// failures.
	Started int
	Failed  int
	Errors  []string `json:",omitempty"`
	// Elapsed is the time from the first start to the last task's end;
	// PerSecond is Started / Elapsed.
	Elapsed   time.Duration
	PerSecond float64
	Latency   Latency
	// Running and Domains are the VMs the host lists as Running and the
	// guest domains the hypervisor holds after the storm; Leftover the
	// guest domains left after every VM was shut down again.
	Running  int
	Domains  int
	Leftover int
	// BytesPerVM is the heap and stack after garbage collection per
	// running VM, the simulated guest's own cost included.
	BytesPerVM      float64
	GoroutinesPerVM float64
}

// LevelResult is the probe batch's start latency at one level of the
// curve, over every measured round.
type LevelResult struct {
	// Running is the number of VMs already running when the probe batch
	// started.
	Running int
	Probe   int
	// Failed counts the failed starts of the measured rounds.
	Failed  int
	Latency Latency
	// Ratio is this level's P50 over the first (lowest) level's P50.
	Ratio float64
}

// CurveResult is the start latency against the number of running VMs.
type CurveResult struct {
	Probe            int
	ProbeConcurrency int
	Rounds           int
	Levels           []LevelResult
	// BytesPerVM and GoroutinesPerVM are measured at the top level.
	BytesPerVM      float64
	GoroutinesPerVM float64
	// Leftover is the guest domains left after every VM was shut down.
	Leftover int
}

// Result is one run of the benchmark; a part that was not asked for is
// nil.
type Result struct {
	Storm *StormResult `json:",omitempty"`
	Curve *CurveResult `json:",omitempty"`
}

// WriteTable prints r as aligned tables.
func WriteTable(w io.Writer, r Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
	if s := r.Storm; s != nil {
		fmt.Fprintf(w, "storm: %d VMs (1 VBD + 1 VIF each), %d at a time\n", s.VMs, s.Concurrency)
		fmt.Fprintf(w, "%8s %7s %9s %9s %9s %9s %9s %9s %10s %8s\n", "started", "failed", "elapsed", "starts/s",
			"p50", "p90", "p99", "max", "bytes/VM", "gor/VM")
		fmt.Fprintf(w, "%8d %7d %9s %9.1f %9s %9s %9s %9s %10.0f %8.1f\n", s.Started, s.Failed,
			s.Elapsed.Round(time.Millisecond), s.PerSecond, ms(s.Latency.P50), ms(s.Latency.P90),
			ms(s.Latency.P99), ms(s.Latency.Max), s.BytesPerVM, s.GoroutinesPerVM)
		fmt.Fprintf(w, "after the storm: %d Running, %d domains; after cleanup: %d domains left\n",
			s.Running, s.Domains, s.Leftover)
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
	}
	if c := r.Curve; c != nil {
		if r.Storm != nil {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "curve: probe of %d VMs, %d at a time, %d rounds after a warm-up\n", c.Probe,
			c.ProbeConcurrency, c.Rounds)
		fmt.Fprintf(w, "%8s %7s %9s %9s %9s %9s\n", "running", "failed", "p50", "p99", "max", "p50/base")
		for _, l := range c.Levels {
			fmt.Fprintf(w, "%8d %7d %9s %9s %9s %9.2f\n", l.Running, l.Failed, ms(l.Latency.P50),
				ms(l.Latency.P99), ms(l.Latency.Max), l.Ratio)
		}
		fmt.Fprintf(w, "at the top level: %.0f bytes/VM, %.1f goroutines/VM; after cleanup: %d domains left\n",
			c.BytesPerVM, c.GoroutinesPerVM, c.Leftover)
	}
}
