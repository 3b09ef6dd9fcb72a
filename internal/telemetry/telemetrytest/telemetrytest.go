// Package telemetrytest reads the process-wide metrics registry in tests.
package telemetrytest

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/telemetry"
)

// Value returns the value of the series of metric name whose labels
// include the given name, value pairs (a histogram's sample count), or 0
// when there is none.
func Value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	fams, err := telemetry.Registry().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				return value(m)
			}
		}
	}
	return 0
}

// Sum returns the sum of the values of every series of metric name whose
// labels include the given name, value pairs.
func Sum(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	fams, err := telemetry.Registry().Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				total += value(m)
			}
		}
	}
	return total
}

func matches(m *dto.Metric, labels []string) bool {
	have := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(labels); i += 2 {
		if have[labels[i]] != labels[i+1] {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}
