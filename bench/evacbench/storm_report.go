package evacbench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/xenactor/xenactor/bench/loadbench"
)

// DaemonUsage is a host's xenactord during a storm: its CPU seconds
// between the storm's start and end (/proc/<pid>/stat), its resident
// memory at the end and its peak since it started (VmHWM).
type DaemonUsage struct {
	Host       string  `json:"host"`
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	RSSKiB     uint64  `json:"rss_kib"`
	PeakRSSKiB uint64  `json:"peak_rss_kib"`
}

// StormReport is a run of the migration storm.
type StormReport struct {
	Config StormConfig `json:"config"`
	// SetupMS is the time to create and start the VMs; Elapsed the
	// storm's, until its last migration ended.
	SetupMS float64       `json:"setup_ms"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Migrations counts those that succeeded, PerSecond them over Elapsed;
	// Failed the others, Errors them by errdefs kind, Messages the first
	// few.
	Migrations int            `json:"migrations"`
	PerSecond  float64        `json:"migrations_per_second"`
	Failed     int            `json:"failed"`
	Errors     map[string]int `json:"errors,omitempty"`
	Messages   []string       `json:"messages,omitempty"`
	// Latency is the successful migrations' time from the call to the end
	// of the task, Downtime what their tasks report, BytesSent the bytes
	// they sent.
	Latency   Percentiles `json:"latency"`
	Downtime  Percentiles `json:"downtime"`
	BytesSent int64       `json:"bytes_sent"`
	// Violations are the broken invariants at the end: a VM listed twice,
	// on no host, not Running, or elsewhere than migrated to.
	Violations []string      `json:"violations,omitempty"`
	Daemons    []DaemonUsage `json:"daemons"`
	// DaemonExit is "clean" when every xenactord exited with status 0
	// after SIGTERM, else what went wrong.
	DaemonExit string        `json:"daemon_exit"`
	Samples    []StormSample `json:"samples"`
}

// newStormReport summarises a worker's storm.
func newStormReport(c StormConfig, res *stormResult, daemons []DaemonUsage) *StormReport {
	r := &StormReport{Config: c, SetupMS: res.SetupMS, Elapsed: res.Elapsed, Messages: res.Messages,
		Violations: res.Violations, Daemons: daemons, BytesSent: res.BytesSent, Samples: res.Samples}
	var lat, down []float64
	for _, s := range res.Samples {
		if s.Error != "" {
			r.Failed++
			if r.Errors == nil {
				r.Errors = map[string]int{}
			}
			r.Errors[s.Error]++
			continue
		}
		r.Migrations++
		lat = append(lat, ms(s.Latency))
		if s.DowntimeMS >= 0 {
			down = append(down, s.DowntimeMS)
		}
	}
	if r.Elapsed > 0 {
		r.PerSecond = float64(r.Migrations) / r.Elapsed.Seconds()
	}
	r.Latency, r.Downtime = percentiles(lat), percentiles(down)
	return r
}

// Problems returns the report's failed migrations, violations and unclean
// exits, one line each; none when all went well.
func (r *StormReport) Problems() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		out = append(out, fmt.Sprintf("%d migrations failed: %s", r.Errors[k], k))
	}
	out = append(out, r.Violations...)
	if r.Migrations == 0 {
		out = append(out, "no migration succeeded")
	}
	if r.DaemonExit != "clean" {
		out = append(out, "xenactord exit: "+r.DaemonExit)
	}
	return out
}

// WriteStormTable prints the report: the migrations' throughput, latency
// and downtime, the daemons' CPU and memory, then the problems.
func WriteStormTable(w io.Writer, r *StormReport) {
	c := r.Config
	fmt.Fprintf(w, "migration storm: %d VMs of %d MiB on %d hosts, %d at a time for %s (live %v, compress %v, "+
		"seed %d; setup %.0f ms)\n", c.VMs, c.MemoryMiB, c.Hosts, c.Concurrency, c.Duration, c.Live, c.Compress, c.Seed,
		r.SetupMS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "migrations\tfailed\tper s\tp50 ms\tp90\tp99\tmax\tdown p50 ms\tp90\tp99\tmax\tsent MiB\t")
	fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", r.Migrations, r.Failed,
		r.PerSecond, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Downtime.P50, r.Downtime.P90,
		r.Downtime.P99, r.Downtime.Max, float64(r.BytesSent)/(1<<20))
	_ = tw.Flush()
	for _, d := range r.Daemons {
		fmt.Fprintf(w, "%s xenactord (pid %d): %.2f CPU s during the storm, RSS %.1f MiB, peak RSS %.1f MiB\n", d.Host,
			d.PID, d.CPUSeconds, float64(d.RSSKiB)/1024, float64(d.PeakRSSKiB)/1024)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	}
	for _, p := range r.Problems() {
		fmt.Fprintln(w, "problem:", p)
	}
	for _, m := range r.Messages {
		fmt.Fprintln(w, "error:", m)
	}
	fmt.Fprintln(w, "xenactord exit:", r.DaemonExit)
}

// WriteJSON writes the report as indented JSON.
func (r *StormReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// The plots' file names.
const (
	PlotStormLatency  = "migstorm-latency.svg"
	PlotStormDowntime = "migstorm-downtime.svg"
)

// Plots returns the report's plots by file name: each migration's latency
// and each downtime over the storm's time, a series per direction (failed
// migrations apart).
func (r *StormReport) Plots() map[string]loadbench.Plot {
	lat := loadbench.Plot{Title: "migration storm: latency over time", XLabel: "time since the storm began (s)",
		YLabel: "migration latency (ms)"}
	down := loadbench.Plot{Title: "migration storm: downtime over time", XLabel: "time since the storm began (s)",
		YLabel: "downtime (ms)"}
	latBy, downBy := map[string][]loadbench.XY{}, map[string][]loadbench.XY{}
	for _, s := range r.Samples {
		name := s.From + " -> " + s.To
		if s.Error != "" {
			name = "failed: " + s.Error
		}
		x := s.At.Seconds()
		latBy[name] = append(latBy[name], loadbench.XY{X: x, Y: ms(s.Latency)})
		if s.Error == "" && s.DowntimeMS >= 0 {
			downBy[name] = append(downBy[name], loadbench.XY{X: x, Y: s.DowntimeMS})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(latBy)) {
		lat.Series = append(lat.Series, loadbench.Series{Name: n, Points: latBy[n]})
	}
	for _, n := range slices.Sorted(maps.Keys(downBy)) {
		down.Series = append(down.Series, loadbench.Series{Name: n, Points: downBy[n]})
	}
	return map[string]loadbench.Plot{PlotStormLatency: lat, PlotStormDowntime: down}
}

// WritePlots writes the report's plots as SVG files into dir and returns
// their paths.
func (r *StormReport) WritePlots(dir string) ([]string, error) {
	return loadbench.WritePlots(dir, r.Plots())
}
