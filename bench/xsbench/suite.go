package xsbench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, for Options.Scenarios.
const (
	ScenarioPairs = "pairs"
	ScenarioTxn   = "txn"
	ScenarioWatch = "watch"
)

// Scenarios lists every scenario in the order Plan runs them.
var Scenarios = []string{ScenarioPairs, ScenarioTxn, ScenarioWatch}

// Options choose the measurements Plan makes.
type Options struct {
	// Duration is the length of one measurement of one daemon (default 2s).
	Duration time.Duration
	// Conns are the connection counts of pairs (default 1 and 8); txn uses
	// the largest.
	Conns []int
	// PerConn are the goroutines per connection of pairs (default 1 and 16).
	PerConn []int
	// Watches are the unrelated watch counts of watch (default 0, 10000 and
	// 100000) and WatchConns the connections holding them (default 100).
	Watches    []int
	WatchConns int
	// SetupTimeout bounds registering the unrelated watches (default 2m).
	SetupTimeout time.Duration
	// Scenarios selects scenarios by name (default all).
	Scenarios []string
}

func (o *Options) defaults() {
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if len(o.Conns) == 0 {
		o.Conns = []int{1, 8}
	}
	if len(o.PerConn) == 0 {
		o.PerConn = []int{1, 16}
	}
	if o.Watches == nil {
		o.Watches = []int{0, 10000, 100000}
	}
	if o.WatchConns <= 0 {
		o.WatchConns = 100
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
}

// Measurement is one scenario with fixed parameters, run once per daemon.
type Measurement struct {
	Scenario, Params string
	// Unit names what Result.OpsPerSec counts ("pairs/s", ...).
	Unit string
	// Conns is the number of connections carrying the load (pairs, txn).
	Conns int
	// Unrelated is the number of unrelated watches (watch only).
	Unrelated int
	Run       func(ctx context.Context, dial Dialer) (Result, error)
}

// Plan returns the measurements that opts select.
func Plan(opts Options) ([]Measurement, error) {
	opts.defaults()
	for _, s := range opts.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return nil, fmt.Errorf("xsbench: unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	lim := Limit{Duration: opts.Duration}
	var ms []Measurement
	if slices.Contains(opts.Scenarios, ScenarioPairs) {
		for _, c := range opts.Conns {
			for _, g := range opts.PerConn {
				cfg := PairsConfig{Conns: c, PerConn: g, Limit: lim}
				ms = append(ms, Measurement{
					Scenario: ScenarioPairs, Params: fmt.Sprintf("conns=%d g=%d", c, g), Unit: "pairs/s", Conns: c,
					Run: func(ctx context.Context, d Dialer) (Result, error) { return Pairs(ctx, d, cfg) },
				})
			}
		}
	}
	if slices.Contains(opts.Scenarios, ScenarioTxn) {
		c := slices.Max(opts.Conns)
		for _, conflict := range []bool{false, true} {
			cfg := TxnConfig{Conns: c, Conflict: conflict, Limit: lim}
			params := fmt.Sprintf("conns=%d own-keys", c)
			if conflict {
				params = fmt.Sprintf("conns=%d shared-counter", c)
			}
			ms = append(ms, Measurement{
				Scenario: ScenarioTxn, Params: params, Unit: "commits/s", Conns: c,
				Run: func(ctx context.Context, d Dialer) (Result, error) { return Txn(ctx, d, cfg) },
			})
		}
	}
	if slices.Contains(opts.Scenarios, ScenarioWatch) {
		for _, n := range opts.Watches {
			cfg := WatchConfig{Unrelated: n, Conns: opts.WatchConns, Limit: lim, SetupTimeout: opts.SetupTimeout}
			params := "unrelated=" + strconv.Itoa(n)
			if n > 0 {
				params += fmt.Sprintf(" on %d conns", min(opts.WatchConns, n))
			}
			ms = append(ms, Measurement{
				Scenario: ScenarioWatch, Params: params, Unit: "events/s", Conns: 2, Unrelated: n,
				Run: func(ctx context.Context, d Dialer) (Result, error) { return WatchDelivery(ctx, d, cfg) },
			})
		}
	}
	return ms, nil
}

// Suite runs measurements against our daemon and, when C is set, the C
// daemon.
type Suite struct {
	Ours, C *Target
	// Count repeats every measurement (default 1); the Report keeps, per
	// daemon, the run with the median ops/s.
	Count int
	// Progress, if set, receives a line per run.
	Progress io.Writer
	// Notes are copied into the Report.
	Notes []string
}

// Run makes every measurement on both daemons, alternating which goes
// first so that drift of the machine affects both, and returns the Report.
// A run that fails is reported in its Result's Skipped field; Run itself
// fails only when ctx ends.
func (s *Suite) Run(ctx context.Context, ms []Measurement) (*Report, error) {
	count := max(s.Count, 1)
	rep := &Report{
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Count:   count,
		Notes:   s.Notes,
	}
	if s.Ours != nil {
		rep.Ours = s.Ours.Desc
	}
	if s.C != nil {
		rep.C = s.C.Desc
	}
	turn := 0
	for _, m := range ms {
		var ours, c []Result
		for range count {
			targets := []*Target{s.Ours, s.C}
			if turn%2 == 1 {
				targets[0], targets[1] = targets[1], targets[0]
			}
			turn++
			for _, t := range targets {
				if t == nil {
					continue
				}
				rctx := ctx
				if t.CPU != nil {
					rctx = WithCPUMeter(ctx, t.CPU)
				}
				r, err := m.Run(rctx, t.Dial)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					r = Result{Skipped: "failed: " + err.Error()}
				}
				s.progress(m, t, r)
				if t == s.Ours {
					ours = append(ours, r)
				} else {
					c = append(c, r)
				}
			}
		}
		row := Row{Scenario: m.Scenario, Params: m.Params, Unit: m.Unit, Conns: m.Conns, Unrelated: m.Unrelated,
			Ours: median(ours), C: median(c)}
		if row.Ours != nil && row.C != nil && row.C.OpsPerSec > 0 && row.Ours.Skipped == "" && row.C.Skipped == "" {
			row.Ratio = row.Ours.OpsPerSec / row.C.OpsPerSec
		}
		rep.Rows = append(rep.Rows, row)
	}
	rep.fillWatchScaling()
	return rep, nil
}

func (s *Suite) progress(m Measurement, t *Target, r Result) {
	if s.Progress == nil {
		return
	}
	if r.Skipped != "" {
		fmt.Fprintf(s.Progress, "%-5s %-32s %-4s %s\n", m.Scenario, m.Params, t.Name, r.Skipped)
		return
	}
	fmt.Fprintf(s.Progress, "%-5s %-32s %-4s %10.0f %s  p50 %s  p99 %s  cpu/op %s  errors %d\n",
		m.Scenario, m.Params, t.Name, r.OpsPerSec, m.Unit, fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.CPUPerOp()), r.Errors)
}

// median returns the run with the median ops/s (the lower middle for an
// even count); runs that were skipped count only when all were.
func median(rs []Result) *Result {
	if len(rs) == 0 {
		return nil
	}
	ok := slices.DeleteFunc(slices.Clone(rs), func(r Result) bool { return r.Skipped != "" })
	if len(ok) == 0 {
		return &rs[0]
	}
	slices.SortFunc(ok, func(a, b Result) int {
		switch {
		case a.OpsPerSec < b.OpsPerSec:
			return -1
		case a.OpsPerSec > b.OpsPerSec:
			return 1
		}
		return 0
	})
	r := ok[(len(ok)-1)/2]
	return &r
}
