// Package stats summarises the latencies the benchmarks measure.
package stats

import (
	"cmp"
	"slices"
	"time"
)

// Latency summarises latencies (nearest rank).
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// Summarize returns the nearest-rank percentiles of ds, which it sorts;
// the zero Latency when ds is empty.
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	return Latency{P50: Rank(ds, 0.50), P90: Rank(ds, 0.90), P99: Rank(ds, 0.99), Max: ds[len(ds)-1]}
}

// Rank returns the q-quantile (0 < q <= 1) of sorted by nearest rank: the
// smallest value at or above which a fraction q of the values lie.
func Rank[T cmp.Ordered](sorted []T, q float64) T {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
