package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/bootstorm"
)

// A tiny storm and curve through the real actor tree: every VM starts and
// runs with its domain, and the cleanup destroys every domain.
func TestBoot_SmallStormThroughTheActors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := bootstorm.Run(ctx, bootstorm.Options{Daemon: newInprocDaemon, VMs: 20, Concurrency: 5,
		Levels: []int{2, 10}, Probe: 4, ProbeConcurrency: 2, Rounds: 2})
	require.NoError(t, err)

	s := r.Storm
	require.NotNil(t, s)
	require.Equal(t, 20, s.Started, "errors: %v", s.Errors)
	require.Zero(t, s.Failed)
	require.Equal(t, 20, s.Running, "every VM is Running after the storm")
	require.Equal(t, 20, s.Domains, "every VM has its domain, and no other is left")
	require.Zero(t, s.Leftover, "the cleanup destroyed every domain")
	require.Positive(t, s.Latency.P50)
	require.Positive(t, s.BytesPerVM)

	c := r.Curve
	require.NotNil(t, c)
	require.Len(t, c.Levels, 2)
	for _, l := range c.Levels {
		require.Zero(t, l.Failed)
		require.Positive(t, l.Latency.P50)
	}
	require.Zero(t, c.Leftover)

	var buf bytes.Buffer
	bootstorm.WriteTable(&buf, r)
	require.Contains(t, buf.String(), "after cleanup: 0 domains left")
}

// BenchmarkBootStorm runs a small storm (200 VMs, 50 at a time) and curve
// (levels 10 and 200) through the actor tree per iteration.
func BenchmarkBootStorm(b *testing.B) {
	ctx := context.Background()
	var r bootstorm.Result
	for b.Loop() {
		var err error
		r, err = bootstorm.Run(ctx, bootstorm.Options{Daemon: newInprocDaemon, VMs: 200, Concurrency: 50,
			Levels: []int{10, 200}})
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
