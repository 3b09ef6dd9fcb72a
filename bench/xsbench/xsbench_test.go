package xsbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func inProcess(tb testing.TB) *Target {
	tb.Helper()
	t, err := InProcess()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := t.Close(); err != nil {
			tb.Error(err)
		}
	})
	return t
}

// targets returns our in-process daemon and, when installed, the C one.
func targets(b *testing.B) []*Target {
	ts := []*Target{inProcess(b)}
	c, err := StartC(context.Background())
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		b.Logf("C xenstored baseline missing: %v", err)
	case err != nil:
		b.Fatal(err)
	default:
		b.Cleanup(func() { c.Close() })
		ts = append(ts, c)
	}
	return ts
}

func checkResult(tb testing.TB, what string, r Result) {
	tb.Helper()
	if r.Skipped != "" {
		tb.Fatalf("%s: skipped: %s", what, r.Skipped)
	}
	if r.Ops <= 0 || r.OpsPerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Duration <= 0 {
		tb.Fatalf("%s: implausible result %+v", what, r)
	}
	if r.Errors != 0 {
		tb.Fatalf("%s: %d errors, first: %s", what, r.Errors, r.FirstError)
	}
}

// TestScenariosSmoke runs every scenario briefly against the in-process
// daemon. It checks results for sanity, never speed.
func TestScenariosSmoke(t *testing.T) {
	ctx := context.Background()
	ours := inProcess(t)
	lim := Limit{Duration: 100 * time.Millisecond}

	r, err := Pairs(ctx, ours.Dial, PairsConfig{Conns: 2, PerConn: 3, Limit: lim})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, "pairs", r)

	r, err = Pairs(ctx, ours.Dial, PairsConfig{Limit: Limit{Ops: 50}})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, "pairs by count", r)
	if r.Ops != 50 {
		t.Errorf("pairs by count: %d ops, want 50", r.Ops)
	}

	for _, conflict := range []bool{false, true} {
		r, err := Txn(ctx, ours.Dial, TxnConfig{Conns: 2, PerConn: 2, Conflict: conflict, Limit: lim})
		if err != nil {
			t.Fatal(err)
		}
		// Errors would include a counter that is not exactly the commits.
		checkResult(t, fmt.Sprintf("txn conflict=%v", conflict), r)
		if r.Attempts < r.Ops {
			t.Errorf("txn conflict=%v: %d attempts for %d commits", conflict, r.Attempts, r.Ops)
		}
	}

	r, err = WatchDelivery(ctx, ours.Dial, WatchConfig{Unrelated: 500, Conns: 5, Limit: lim})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, "watch", r)
	if r.Setup <= 0 {
		t.Errorf("watch: no set-up time recorded")
	}

	// The scenarios clean up after themselves.
	c, err := ours.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if names, err := c.Directory(ctx, "/bench"); err != nil || len(names) != 0 {
		t.Errorf("/bench after the scenarios: %q, %v; want it empty", names, err)
	}
}

// TestSuiteReport runs a tiny plan against two in-process daemons and
// checks the report's shape.
func TestSuiteReport(t *testing.T) {
	a, b := inProcess(t), inProcess(t)
	b.Name = "c"
	plan, err := Plan(Options{Duration: 30 * time.Millisecond, Conns: []int{1, 2}, PerConn: []int{1},
		Watches: []int{0, 50}, WatchConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := &Suite{Ours: a, C: b, Count: 2}
	rep, err := s.Run(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != len(plan) || len(rep.WatchScaling) != 2 {
		t.Fatalf("%d rows and %d watch scales for %d measurements", len(rep.Rows), len(rep.WatchScaling), len(plan))
	}
	for _, row := range rep.Rows {
		if row.Ours == nil || row.C == nil || row.Ratio <= 0 {
			t.Errorf("row %s %s: %+v", row.Scenario, row.Params, row)
		}
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pairs", "conns=2 g=1", "shared-counter", "unrelated=50", "ours/C", "targets"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Rows) != len(rep.Rows) {
		t.Errorf("JSON report does not read back: %v\n%s", err, js.String())
	}

	if _, err := Plan(Options{Scenarios: []string{"nope"}}); err == nil {
		t.Error("Plan accepted an unknown scenario")
	}
}

// report turns a Result into benchmark metrics; ns/op is the scenario's own
// wall time per operation, set-up excluded.
func report(b *testing.B, r Result, err error, unit string) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	if r.Skipped != "" {
		b.Skip(r.Skipped)
	}
	if r.Errors > 0 {
		b.Fatalf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	if r.Ops > 0 {
		b.ReportMetric(float64(r.Duration.Nanoseconds())/float64(r.Ops), "ns/op")
	}
	b.ReportMetric(r.OpsPerSec, unit)
	b.ReportMetric(float64(r.P50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(r.P99.Nanoseconds()), "p99-ns")
}

// BenchmarkPairs: one op is a WRITE and READ of a goroutine's own key.
// Our daemon runs in process here; cmd/xenactor-bench runs it separately.
func BenchmarkPairs(b *testing.B) {
	for _, t := range targets(b) {
		b.Run(t.Name, func(b *testing.B) {
			for _, conns := range []int{1, 8} {
				for _, g := range []int{1, 16} {
					b.Run(fmt.Sprintf("conns=%d/g=%d", conns, g), func(b *testing.B) {
						r, err := Pairs(context.Background(), t.Dial,
							PairsConfig{Conns: conns, PerConn: g, Limit: Limit{Ops: int64(b.N)}})
						report(b, r, err, "pairs/s")
					})
				}
			}
		})
	}
}

// BenchmarkTxn: one op is a committed read-modify-write transaction.
func BenchmarkTxn(b *testing.B) {
	for _, t := range targets(b) {
		b.Run(t.Name, func(b *testing.B) {
			for _, conflict := range []bool{false, true} {
				b.Run(fmt.Sprintf("conns=8/conflict=%v", conflict), func(b *testing.B) {
					r, err := Txn(context.Background(), t.Dial,
						TxnConfig{Conns: 8, Conflict: conflict, Limit: Limit{Ops: int64(b.N)}})
					report(b, r, err, "commits/s")
					b.ReportMetric(r.ConflictRate, "conflict-rate")
				})
			}
		})
	}
}

// BenchmarkWatchDelivery: one op is a WRITE and the watcher receiving its
// event, with unrelated watches registered once per sub-benchmark.
func BenchmarkWatchDelivery(b *testing.B) {
	ts := targets(b)
	for _, n := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprintf("unrelated=%d", n), func(b *testing.B) {
			for _, t := range ts {
				// Register once; b.Run calls the closure for several b.N.
				ws, skipped, err := SetupWatch(context.Background(), t.Dial, WatchConfig{Unrelated: n})
				if err != nil {
					b.Fatal(err)
				}
				b.Run(t.Name, func(b *testing.B) {
					if skipped != nil {
						b.Skip(skipped.Skipped)
					}
					r, err := ws.Measure(context.Background(), Limit{Ops: int64(b.N)})
					report(b, r, err, "events/s")
				})
				if ws != nil {
					ws.Close()
				}
			}
		})
	}
}
