package loadbench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// XY is a point of a plot.
type XY struct{ X, Y float64 }

// Series is a named set of points; Line joins them in order instead of
// drawing dots.
type Series struct {
	Name   string
	Points []XY
	Line   bool
}

// Plot is a scatter or line chart with a linear x axis from 0 and a
// linear y axis from 0, or a logarithmic one (LogY) over the decades of
// the positive values.
type Plot struct {
	Title, XLabel, YLabel string
	Series                []Series
	LogY                  bool
}

// The plot's geometry in pixels.
const (
	plotW, plotH             = 800, 480
	marginL, marginR         = 70, 160
	marginT, marginB         = 40, 50
	innerW                   = plotW - marginL - marginR
	innerH                   = plotH - marginT - marginB
	plotTicks                = 5
	dotRadius                = 1.8
	legendLine, legendIndent = 18, 10
)

// palette colours the series in turn.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// label formats a tick's value.
func label(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// WriteSVG writes p as an SVG document.
func (p Plot) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var xmax, ymax float64
	ymin := math.Inf(1)
	for _, s := range p.Series {
		for _, pt := range s.Points {
			xmax, ymax = max(xmax, pt.X), max(ymax, pt.Y)
			if pt.Y > 0 {
				ymin = min(ymin, pt.Y)
			}
		}
	}
	xmax, ymax = niceMax(xmax), niceMax(ymax)
	x := func(v float64) float64 { return marginL + v/xmax*innerW }
	y := func(v float64) float64 { return marginT + innerH - v/ymax*innerH }
	// yticks are the values of the y axis's grid lines.
	var yticks []float64
	for i := 0; i <= plotTicks; i++ {
		yticks = append(yticks, ymax*float64(i)/plotTicks)
	}
	if p.LogY {
		lo := math.Floor(math.Log10(min(ymin, ymax)))
		hi := max(math.Ceil(math.Log10(ymax)), lo+1)
		y = func(v float64) float64 {
			l := math.Log10(max(v, math.Pow(10, lo)))
			return marginT + innerH - (l-lo)/(hi-lo)*innerH
		}
		yticks = yticks[:0]
		for e := lo; e <= hi; e++ {
			yticks = append(yticks, math.Pow(10, e))
		}
	}
	esc := html.EscapeString
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotW, plotH, plotW, plotH)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle" font-size="15">%s</text>`+"\n", plotW/2, marginT/2+5, esc(p.Title))
	for i := 0; i <= plotTicks; i++ {
		xv := xmax * float64(i) / plotTicks
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(xv), marginT, x(xv), marginT+innerH)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(xv), marginT+innerH+16, label(xv))
	}
	for _, yv := range yticks {
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y(yv), marginL+innerW, y(yv))
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-6, y(yv)+4, label(yv))
	}
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", marginL, marginT, innerW, innerH)
	fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", marginL+innerW/2, plotH-10, esc(p.XLabel))
	fmt.Fprintf(bw, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">%s</text>`+"\n",
		marginT+innerH/2, marginT+innerH/2, esc(p.YLabel))
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		if s.Line {
			fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, col)
			for _, pt := range s.Points {
				fmt.Fprintf(bw, "%.1f,%.1f ", x(pt.X), y(pt.Y))
			}
			fmt.Fprint(bw, `"/>`+"\n")
		} else {
			fmt.Fprintf(bw, `<g fill="%s" fill-opacity="0.6">`+"\n", col)
			for _, pt := range s.Points {
				fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="%.1f"/>`+"\n", x(pt.X), y(pt.Y), dotRadius)
			}
			fmt.Fprint(bw, "</g>\n")
		}
		ly := marginT + legendLine*(i+1)
		fmt.Fprintf(bw, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`+"\n", plotW-marginR+legendIndent, ly-9, col)
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", plotW-marginR+legendIndent+16, ly, esc(s.Name))
	}
	fmt.Fprint(bw, "</svg>\n")
	return bw.Flush()
}

// The files WritePlots writes.
const (
	PlotLatencyOverTime = "latency-over-time.svg"
	PlotStartVsRunning  = "start-vs-running.svg"
)

// Plots returns the report's plots by file name: the latency of every
// operation over the run's time, and, when it started VMs, the start
// latency against the VMs running (with the scaling run's probe p50 per
// level as a line).
func (r *Report) Plots() map[string]Plot {
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	over := Plot{Title: r.Config.Scenario + ": latency over time", XLabel: "time since the start (s)",
		YLabel: "latency (ms)"}
	ops := make([]string, 0, len(r.Points))
	for op := range r.Points {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		s := Series{Name: op}
		for _, p := range r.Points[op] {
			s.Points = append(s.Points, XY{float64(p.At) / float64(time.Second), msOf(p.Latency)})
		}
		over.Series = append(over.Series, s)
	}
	out := map[string]Plot{PlotLatencyOverTime: over}
	starts := Plot{Title: r.Config.Scenario + ": start latency against running VMs", XLabel: "running VMs",
		YLabel: "start latency (ms, log scale)", LogY: true}
	for _, op := range []string{OpStart, OpProbe} {
		if len(r.Points[op]) == 0 {
			continue
		}
		s := Series{Name: op}
		for _, p := range r.Points[op] {
			s.Points = append(s.Points, XY{float64(p.Running), msOf(p.Latency)})
		}
		starts.Series = append(starts.Series, s)
	}
	if len(r.Levels) > 0 {
		s := Series{Name: "probe p50", Line: true}
		for _, l := range r.Levels {
			s.Points = append(s.Points, XY{float64(l.Running), msOf(l.Probe.P50)})
		}
		starts.Series = append(starts.Series, s)
	}
	if len(starts.Series) > 0 {
		out[PlotStartVsRunning] = starts
	}
	return out
}

// WritePlots writes the report's plots (Plots) as SVG files into dir and
// returns their paths.
func (r *Report) WritePlots(dir string) ([]string, error) { return WritePlots(dir, r.Plots()) }

// WritePlots writes plots as SVG files named by their keys into dir, made
// if missing, in name order, and returns their paths.
func WritePlots(dir string, plots map[string]Plot) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return paths, err
		}
		err = plots[name].WriteSVG(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
