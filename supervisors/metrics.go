package supervisors

import "github.com/xenactor/xenactor/internal/telemetry"

// The supervisors' metrics (docs/metrics.md), whatever Accounting a
// strategy records in.
var failuresTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "supervisor", Name: "failures", Unit: "total",
	Help: "Actor failures handled by the supervisors, by family (vm, vbd, vif, guest, ...), reason (the error " +
		"kind, or panic) and action (restart, stop, give_up, escalate, resume).",
	Labels: []string{"family", "reason", "action"}})

// observeFailure counts f.
func observeFailure(f failure) {
	failuresTotal.WithLabelValues(f.key.Family, f.key.Reason, string(f.action)).Inc()
}
