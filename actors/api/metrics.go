package api

import (
	"time"

	"github.com/xenactor/xenactor/internal/telemetry"
	"github.com/xenactor/xenactor/messages"
)

// The api actor's metrics (docs/metrics.md).
var (
	requestsTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "api", Name: "requests", Unit: "total",
		Help:   "API requests answered, by op (StartVM, ...; Unknown for a request without one) and result (ok, the error kind, or unknown).",
		Labels: []string{"op", "result"}})
	requestSeconds = telemetry.NewHistogram(telemetry.Desc{Subsystem: "api", Name: "request_duration", Unit: "seconds",
		Help: "Time to answer an API request, by op.", Labels: []string{"op"}, Buckets: telemetry.LatencyBuckets})
	inFlightRequests = telemetry.NewGauge(telemetry.Desc{Subsystem: "api", Name: "in_flight", Unit: "requests",
		Help: "API requests being served."})
	refusedTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "api", Name: "refused", Unit: "total",
		Help:   "API requests not served: over the in-flight limit (limit), without a sender (no_sender), or whose handler panicked (panic).",
		Labels: []string{"reason"}})
)

// observeRequest counts a request of op answered with failure (nil for
// success) after it began.
func observeRequest(op string, failure *messages.Error, began time.Time) {
	result := "ok"
	switch {
	case failure == nil:
	case failure.GetKind() == "":
		result = "unknown"
	default:
		result = failure.GetKind()
	}
	requestsTotal.WithLabelValues(op, result).Inc()
	requestSeconds.WithLabelValues(op).Observe(time.Since(began).Seconds())
}
