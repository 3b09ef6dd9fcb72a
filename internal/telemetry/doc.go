// Package telemetry holds the process-wide metrics registry: the
// Prometheus registry every package's metrics.go table registers on (with
// the Go and process collectors), the /metrics handler and server, and the
// OpenTelemetry MeterProvider that gives protoactor-go's own metrics to the
// same registry.
//
// Metrics are named xenactor_<subsystem>_<name>_<unit> and carry only
// low-cardinality labels. Per-VM series are kept only while PerVM reports
// true (SetPerVM; off by default).
package telemetry
