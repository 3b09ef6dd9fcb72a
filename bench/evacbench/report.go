package evacbench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

// Percentiles are a distribution's p50, p90, p99 and maximum, in
// milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// percentiles returns the nearest-rank percentiles of ms.
func percentiles(ms []float64) Percentiles {
	if len(ms) == 0 {
		return Percentiles{}
	}
	s := slices.Sorted(slices.Values(ms))
	return Percentiles{P50: stats.Rank(s, 0.50), P90: stats.Rank(s, 0.90), P99: stats.Rank(s, 0.99),
		Max: s[len(s)-1]}
}

// Row is one evacuation.
type Row struct {
	// Batch is the evacuation's batch size, VMs the VMs it had to move.
	Batch int `json:"batch"`
	VMs   int `json:"vms"`
	// Migrated counts the VMs reported migrated, Timed those whose
	// VM.migrate task was found on the evacuated host.
	Migrated int `json:"migrated"`
	Timed    int `json:"timed"`
	// TotalMS is the PoolEvacuate call's time as the client saw it.
	TotalMS      float64 `json:"total_ms"`
	VMsPerSecond float64 `json:"vms_per_second"`
	// Migration is the VM.migrate tasks' durations, Downtime the
	// downtimes their results report.
	Migration Percentiles `json:"migration"`
	Downtime  Percentiles `json:"downtime"`
	// BytesSent is what the migrations sent, as their tasks report it.
	BytesSent int64 `json:"bytes_sent"`
	// Errors counts the VMs that stayed, by error kind.
	Errors map[string]int `json:"errors,omitempty"`
	// Messages are the first few of their error messages.
	Messages []string `json:"messages,omitempty"`
	// Placement counts the VMs on each host after the evacuation.
	Placement map[string]int `json:"placement"`
	// Violations are the broken invariants: a VM listed twice, missing,
	// not Running, on the evacuated host, or elsewhere than reported.
	Violations []string `json:"violations,omitempty"`
}

// Report is a run of the benchmark.
type Report struct {
	Hosts     int    `json:"hosts"`
	VMs       int    `json:"vms"`
	MemoryMiB uint64 `json:"vm_memory_mib"`
	// Source is the evacuated host.
	Source string `json:"source"`
	// SetupMS is the time to create and start the VMs.
	SetupMS float64 `json:"setup_ms"`
	Rows    []Row   `json:"rows"`
	// DaemonExit is "clean" when every xenactord exited with status 0
	// after SIGTERM, else what went wrong.
	DaemonExit string `json:"daemon_exit"`
}

// Problems returns the report's errors and violations, one line each;
// none when every VM was migrated and every invariant held.
func (r *Report) Problems() []string {
	var out []string
	for _, row := range r.Rows {
		for kind, n := range row.Errors {
			out = append(out, fmt.Sprintf("batch %d: %d VMs stayed: %s", row.Batch, n, kind))
		}
		for _, v := range row.Violations {
			out = append(out, fmt.Sprintf("batch %d: %s", row.Batch, v))
		}
		if row.Migrated != row.VMs {
			out = append(out, fmt.Sprintf("batch %d: %d of %d VMs migrated", row.Batch, row.Migrated, row.VMs))
		}
	}
	if r.DaemonExit != "clean" {
		out = append(out, "xenactord exit: "+r.DaemonExit)
	}
	return out
}

// WriteTable prints the report as a table, then its problems.
func WriteTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "evacuation of %s: %d VMs of %d MiB, %d hosts (setup %.0f ms)\n", r.Source, r.VMs, r.MemoryMiB,
		r.Hosts, r.SetupMS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "batch\tVMs\tmigrated\ttotal ms\tVMs/s\tmig p50\tp90\tp99\tmax ms\tdown p50\tp90\tp99\tmax ms\tsent MiB\terrors\tplacement\t")
	for _, row := range r.Rows {
		errs := 0
		for _, n := range row.Errors {
			errs += n
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%d\t%s\t\n", row.Batch,
			row.VMs, row.Migrated, row.TotalMS, row.VMsPerSecond, row.Migration.P50, row.Migration.P90,
			row.Migration.P99, row.Migration.Max, row.Downtime.P50, row.Downtime.P90, row.Downtime.P99,
			row.Downtime.Max, float64(row.BytesSent)/(1<<20), errs, placement(row.Placement))
	}
	_ = tw.Flush()
	for _, p := range r.Problems() {
		fmt.Fprintln(w, "problem:", p)
	}
	for _, row := range r.Rows {
		for _, m := range row.Messages {
			fmt.Fprintf(w, "error: batch %d: %s\n", row.Batch, m)
		}
	}
	fmt.Fprintln(w, "xenactord exit:", r.DaemonExit)
}

// placement is "host=n" for each host, sorted.
func placement(p map[string]int) string {
	hosts := make([]string, 0, len(p))
	for h := range p {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var b strings.Builder
	for i, h := range hosts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", h, p[h])
	}
	return b.String()
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
