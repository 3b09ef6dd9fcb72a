package telemetry

import (
	"sync"

	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

var (
	meterOnce     sync.Once
	meterProvider metric.MeterProvider
	meterErr      error
)

// MeterProvider returns the OpenTelemetry MeterProvider whose metrics the
// Prometheus exporter gives to the registry, for protoactor-go:
// actor.NewActorSystem(actor.WithMetricProviders(mp)). protoactor-go takes
// its meters from OpenTelemetry's global provider, so the first call also
// makes it the global one. Every call returns the same provider.
func MeterProvider() (metric.MeterProvider, error) {
	meterOnce.Do(func() {
		exp, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutUnits(),
			otelprom.WithoutTargetInfo())
		if err != nil {
			meterErr = err
			return
		}
		// protoactor's histograms are in seconds: the SDK's default
		// buckets (0 to 10000) would put every message in the first one.
		seconds := sdkmetric.NewView(sdkmetric.Instrument{Name: "*_seconds"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: LatencyBuckets}})
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(seconds))
		otel.SetMeterProvider(mp)
		meterProvider = mp
	})
	return meterProvider, meterErr
}
