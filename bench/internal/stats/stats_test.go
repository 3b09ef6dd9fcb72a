package stats_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

func TestSummarize_NearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, stats.Latency{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond,
		P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, stats.Summarize(ds))
	require.Equal(t, stats.Latency{}, stats.Summarize(nil))
	require.Equal(t, 3.0, stats.Rank([]float64{1, 2, 3}, 0.99))
	require.Equal(t, 1.0, stats.Rank([]float64{1, 2, 3}, 0.01))
}
