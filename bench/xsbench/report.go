package xsbench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report holds the results of a Suite run.
type Report struct {
	// Machine describes the host and Go version.
	Machine string `json:"machine"`
	// Ours and C describe the two daemons ("" when not measured).
	Ours string `json:"ours"`
	C    string `json:"c,omitempty"`
	// Count is the number of runs per measurement; the median is kept.
	Count int      `json:"count"`
	Notes []string `json:"notes,omitempty"`
	Rows  []Row    `json:"rows"`
	// WatchScaling compares watch delivery with N unrelated watches to
	// delivery with none, per daemon.
	WatchScaling []WatchScale `json:"watch_scaling,omitempty"`
}

// Row is one measurement of both daemons.
type Row struct {
	Scenario  string  `json:"scenario"`
	Params    string  `json:"params"`
	Unit      string  `json:"unit"`
	Conns     int     `json:"conns"`
	Unrelated int     `json:"unrelated,omitempty"`
	Ours      *Result `json:"ours,omitempty"`
	C         *Result `json:"c,omitempty"`
	// Ratio is Ours.OpsPerSec / C.OpsPerSec; 0 when either is missing.
	Ratio float64 `json:"ratio,omitempty"`
}

// WatchScale is the cost of watch delivery with Unrelated watches relative
// to the cost with none: the ratio of p50 latencies (1 is the ideal).
type WatchScale struct {
	Unrelated int           `json:"unrelated"`
	OursP50   time.Duration `json:"ours_p50_ns,omitempty"`
	OursVs0   float64       `json:"ours_vs_0,omitempty"`
	OursSetup time.Duration `json:"ours_setup_ns,omitempty"`
	CP50      time.Duration `json:"c_p50_ns,omitempty"`
	CVs0      float64       `json:"c_vs_0,omitempty"`
	CSetup    time.Duration `json:"c_setup_ns,omitempty"`
}

func (r *Report) fillWatchScaling() {
	var base *Row
	for i := range r.Rows {
		if row := &r.Rows[i]; row.Scenario == ScenarioWatch && row.Unrelated == 0 {
			base = row
		}
	}
	r.WatchScaling = nil
	for _, row := range r.Rows {
		if row.Scenario != ScenarioWatch {
			continue
		}
		ws := WatchScale{Unrelated: row.Unrelated}
		ws.OursP50, ws.OursSetup = p50setup(row.Ours)
		ws.CP50, ws.CSetup = p50setup(row.C)
		if base != nil {
			if b, _ := p50setup(base.Ours); b > 0 && ws.OursP50 > 0 {
				ws.OursVs0 = float64(ws.OursP50) / float64(b)
			}
			if b, _ := p50setup(base.C); b > 0 && ws.CP50 > 0 {
				ws.CVs0 = float64(ws.CP50) / float64(b)
			}
		}
		r.WatchScaling = append(r.WatchScaling, ws)
	}
}

func p50setup(r *Result) (p50, setup time.Duration) {
	if r == nil {
		return 0, 0
	}
	if r.Skipped != "" {
		return 0, r.Setup
	}
	return r.P50, r.Setup
}

// WriteJSON writes the report as indented JSON; durations are nanoseconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as aligned text tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ours: %s\n", r.Ours)
	if r.C != "" {
		fmt.Fprintf(&b, "C:    %s\n", r.C)
	} else {
		fmt.Fprintf(&b, "C:    not measured (baseline missing)\n")
	}
	fmt.Fprintf(&b, "machine: %s; median of %d run(s) per daemon\n", r.Machine, r.Count)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tparams\tunit\tours/s\tC/s\tours/C\tours p50\tours p99\tC p50\tC p99\tnotes")
	for _, row := range r.Rows {
		ratio := "-"
		if row.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", row.Ratio)
		}
		op, o50, o99 := cells(row.Ours)
		cp, c50, c99 := cells(row.C)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Scenario, row.Params, row.Unit,
			op, cp, ratio, o50, o99, c50, c99, notes(row))
	}
	tw.Flush()

	if r.hasCPU() {
		b.WriteString("\nCPU (daemon CPU time per op from /proc; cpu% = CPU seconds per wall second, 200% = both of 2 CPUs;\n" +
			"load = this process, the load generator; C/ours > 1 means ours needs less CPU per op):\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scenario\tparams\tours cpu/op\tC cpu/op\tC/ours\tours cpu%\tC cpu%\tload cpu% (ours run)\tload cpu% (C run)")
		for _, row := range r.Rows {
			oc, cc := row.Ours.CPUPerOp(), row.C.CPUPerOp()
			ratio := "-"
			if oc > 0 && cc > 0 {
				ratio = fmt.Sprintf("%.2fx", float64(cc)/float64(oc))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Scenario, row.Params, fmtDur(oc), fmtDur(cc), ratio,
				pct(row.Ours, row.Ours.daemonCPU()), pct(row.C, row.C.daemonCPU()),
				pct(row.Ours, row.Ours.loadCPU()), pct(row.C, row.C.loadCPU()))
		}
		tw.Flush()
	}

	if len(r.WatchScaling) > 0 {
		b.WriteString("\nwatch delivery cost vs unrelated watches (p50 write-to-event latency; x0 = relative to unrelated=0, 1.00 is ideal):\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "unrelated\tours p50\tours x0\tC p50\tC x0\tours setup\tC setup")
		for _, ws := range r.WatchScaling {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ws.Unrelated, fmtDur(ws.OursP50), fmtRatio(ws.OursVs0),
				fmtDur(ws.CP50), fmtRatio(ws.CVs0), fmtDur(ws.OursSetup), fmtDur(ws.CSetup))
		}
		tw.Flush()
	}

	var targets []string
	for _, row := range r.Rows {
		if row.Scenario != ScenarioPairs || row.Ratio == 0 {
			continue
		}
		want := 2.0
		if row.Conns > 1 {
			want = 3.0
		}
		verdict := "met"
		if row.Ratio < want {
			verdict = "MISSED"
		}
		targets = append(targets, fmt.Sprintf("pairs %s: ours/C %.2fx, target %.0fx: %s", row.Params, row.Ratio, want, verdict))
	}
	if n := len(r.WatchScaling); n > 0 && r.WatchScaling[n-1].OursVs0 > 0 {
		last := r.WatchScaling[n-1]
		targets = append(targets, fmt.Sprintf("watch delivery with %d unrelated watches: ours %.2fx the cost with none (target: independent, ~1x)",
			last.Unrelated, last.OursVs0))
	}
	if len(targets) > 0 {
		b.WriteString("\ntargets (reported, never asserted):\n")
		for _, t := range targets {
			b.WriteString("  " + t + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cells(r *Result) (ops, p50, p99 string) {
	if r == nil || r.Skipped != "" {
		return "-", "-", "-"
	}
	return fmt.Sprintf("%.0f", r.OpsPerSec), fmtDur(r.P50), fmtDur(r.P99)
}

func notes(row Row) string {
	var ns []string
	for _, x := range []struct {
		name string
		r    *Result
	}{{"ours", row.Ours}, {"C", row.C}} {
		r := x.r
		if r == nil {
			continue
		}
		if r.Skipped != "" {
			ns = append(ns, x.name+": "+r.Skipped)
			continue
		}
		if r.Attempts > r.Ops {
			ns = append(ns, fmt.Sprintf("%s conflicts %.0f%%", x.name, 100*r.ConflictRate))
		}
		if r.Setup > 0 {
			ns = append(ns, fmt.Sprintf("%s setup %s", x.name, fmtDur(r.Setup)))
		}
		if r.Errors > 0 {
			ns = append(ns, fmt.Sprintf("%s ERRORS %d (%s)", x.name, r.Errors, r.FirstError))
		}
	}
	return strings.Join(ns, "; ")
}

func fmtRatio(f float64) string {
	if f == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", f)
}

// fmtDur prints a duration with three significant digits, "-" for zero.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fus", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func (r *Report) hasCPU() bool {
	for _, row := range r.Rows {
		if row.Ours.CPUPerOp() > 0 || row.C.CPUPerOp() > 0 {
			return true
		}
	}
	return false
}

func (r *Result) daemonCPU() time.Duration {
	if r == nil {
		return 0
	}
	return r.DaemonCPU
}

func (r *Result) loadCPU() time.Duration {
	if r == nil {
		return 0
	}
	return r.LoadCPU
}

// pct prints cpu as a percentage of r's wall time.
func pct(r *Result, cpu time.Duration) string {
	if r == nil || r.Skipped != "" || r.Duration <= 0 || cpu <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*cpu.Seconds()/r.Duration.Seconds())
}
