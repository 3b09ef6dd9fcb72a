package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/telemetry"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

var (
	testCounter = telemetry.NewCounter(telemetry.Desc{Subsystem: "telemetrytest", Name: "events", Unit: "total",
		Help: "Events of the test.", Labels: []string{"kind"}})
	testPerVM = telemetry.NewPerVMCounter(telemetry.Desc{Subsystem: "telemetrytest", Name: "vm_events",
		Unit: "total", Help: "Events of the test by VM.", Labels: []string{"vm"}})
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestServe_ServesTheRegistry(t *testing.T) {
	srv, err := telemetry.Serve("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Close()) }()
	require.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"))

	// The registry is the process's: the counter may hold earlier runs'.
	testCounter.WithLabelValues("served").Add(3)
	want := telemetrytest.Value(t, "xenactor_telemetrytest_events_total", "kind", "served")
	body := scrape(t, srv.URL())
	require.Contains(t, body, fmt.Sprintf(`xenactor_telemetrytest_events_total{kind="served"} %v`, want))
	require.Contains(t, body, "go_goroutines ")
	require.Contains(t, body, "process_cpu_seconds_total ")
}

func TestServe_AddressInUse(t *testing.T) {
	srv, err := telemetry.Serve("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Close()) }()
	_, err = telemetry.Serve(srv.Addr())
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
}

func TestMeterProvider_SameRegistry(t *testing.T) {
	mp, err := telemetry.MeterProvider()
	require.NoError(t, err)
	again, err := telemetry.MeterProvider()
	require.NoError(t, err)
	require.Same(t, mp, again)

	c, err := mp.Meter("telemetrytest").Int64Counter("telemetrytest_otel_events", metric.WithDescription("x"))
	require.NoError(t, err)
	c.Add(context.Background(), 2)
	n, err := testutil.GatherAndCount(telemetry.Registry(), "telemetrytest_otel_events_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestPerVM_OffDropsTheSeries(t *testing.T) {
	require.False(t, telemetry.PerVM(), "per-VM series are off by default")
	telemetry.SetPerVM(true)
	require.True(t, telemetry.PerVM())
	testPerVM.WithLabelValues("vm-1").Inc()
	require.Equal(t, 1, testutil.CollectAndCount(testPerVM))
	telemetry.SetPerVM(false)
	require.Equal(t, 0, testutil.CollectAndCount(testPerVM))
}

func TestResult(t *testing.T) {
	require.Equal(t, "ok", telemetry.Result(nil))
	require.Equal(t, "not_found", telemetry.Result(fmt.Errorf("x: %w", errdefs.ErrNotFound)))
	require.Equal(t, "unknown", telemetry.Result(errors.New("x")))
}

func TestDesc_FullName(t *testing.T) {
	d := telemetry.Desc{Subsystem: "vm", Name: "operations", Unit: "total"}
	require.Equal(t, "xenactor_vm_operations_total", d.FullName())
}

func TestNames_ListsTheTables(t *testing.T) {
	require.Contains(t, telemetry.Names(), "xenactor_telemetrytest_events_total")
	require.Contains(t, telemetry.Names(), "xenactor_telemetrytest_vm_events_total")
}

func TestMeterProvider_SecondsHistogramsHaveLatencyBuckets(t *testing.T) {
	mp, err := telemetry.MeterProvider()
	require.NoError(t, err)
	h, err := mp.Meter("telemetrytest").Float64Histogram("telemetrytest_otel_duration_seconds")
	require.NoError(t, err)
	h.Record(context.Background(), 0.003)
	fams, err := telemetry.Registry().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != "telemetrytest_otel_duration_seconds" {
			continue
		}
		buckets := f.GetMetric()[0].GetHistogram().GetBucket()
		require.Len(t, buckets, len(telemetry.LatencyBuckets))
		require.Equal(t, telemetry.LatencyBuckets[0], buckets[0].GetUpperBound())
		return
	}
	t.Fatal("no telemetrytest_otel_duration_seconds")
}
