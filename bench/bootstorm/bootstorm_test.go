package bootstorm

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun_Small(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{VMs: 20, Concurrency: 5, Levels: []int{10, 2}, Probe: 4, ProbeConcurrency: 2})
	require.NoError(t, err)

	s := r.Storm
	require.NotNil(t, s)
	require.Equal(t, 20, s.VMs)
	require.Equal(t, 20, s.Started, "errors: %v", s.Errors)
	require.Zero(t, s.Failed)
	require.Empty(t, s.Errors)
	require.Equal(t, 20, s.Running, "every VM is Running after the storm")
	require.Equal(t, 20, s.Domains, "every VM has its domain, and no other is left")
	require.Zero(t, s.Leftover, "the cleanup destroyed every domain")
	require.Positive(t, s.PerSecond)
	require.Positive(t, s.Latency.P50)
	require.LessOrEqual(t, s.Latency.P50, s.Latency.P90)
	require.LessOrEqual(t, s.Latency.P90, s.Latency.P99)
	require.LessOrEqual(t, s.Latency.P99, s.Latency.Max)
	require.Positive(t, s.BytesPerVM)

	c := r.Curve
	require.NotNil(t, c)
	require.Equal(t, DefaultRounds, c.Rounds)
	require.Len(t, c.Levels, 2)
	require.Equal(t, 2, c.Levels[0].Running, "levels are sorted; the lowest is the baseline")
	require.Equal(t, 10, c.Levels[1].Running)
	for _, l := range c.Levels {
		require.Equal(t, 4, l.Probe)
		require.Zero(t, l.Failed)
		require.Positive(t, l.Latency.P50)
		require.Positive(t, l.Ratio)
	}
	require.InDelta(t, 1.0, c.Levels[0].Ratio, 1e-9)
	require.Zero(t, c.Leftover)

	var buf bytes.Buffer
	WriteTable(&buf, r)
	require.Contains(t, buf.String(), "starts/s")
	require.Contains(t, buf.String(), "p50/base")
}

func TestLatency(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	ds = append(ds, 0) // a failure does not count
	l := latency(ds)
	require.Equal(t, Latency{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond,
		Max: 100 * time.Millisecond}, l)
	require.Equal(t, Latency{}, latency(nil))
}

// BenchmarkBootStorm runs a small storm (200 VMs, 50 at a time) and curve
// (levels 10 and 200) per iteration.
func BenchmarkBootStorm(b *testing.B) {
	ctx := context.Background()
	var r Result
	for b.Loop() {
		var err error
		r, err = Run(ctx, Options{VMs: 200, Concurrency: 50, Levels: []int{10, 200}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.Storm.PerSecond, "starts/s")
	b.ReportMetric(float64(r.Storm.Latency.P50)/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(r.Storm.Latency.P99)/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(r.Curve.Levels[len(r.Curve.Levels)-1].Ratio, "curve-ratio")
	b.ReportMetric(r.Storm.BytesPerVM, "bytes/VM")
}
