package tasks

import (
	"github.com/xenactor/xenactor/internal/telemetry"
)

// The task registry's metrics (docs/metrics.md).
var (
	createdTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "tasks", Name: "created", Unit: "total",
		Help: "Tasks created, by kind (VM.start, ...).", Labels: []string{"kind"}})
	finishedTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "tasks", Name: "finished", Unit: "total",
		Help:   "Tasks finished, by kind and result (ok or the error kind).",
		Labels: []string{"kind", "result"}})
	pendingTasks = telemetry.NewGauge(telemetry.Desc{Subsystem: "tasks", Name: "pending", Unit: "tasks",
		Help: "Tasks pending (created, not finished yet), by kind.", Labels: []string{"kind"}})
)

// observeCreated counts a new pending task of kind.
func observeCreated(kind string) {
	createdTotal.WithLabelValues(kind).Inc()
	pendingTasks.WithLabelValues(kind).Inc()
}

// observeFinished counts the end of a pending task of kind with cause.
func observeFinished(kind string, cause error) {
	finishedTotal.WithLabelValues(kind, telemetry.Result(cause)).Inc()
	pendingTasks.WithLabelValues(kind).Dec()
}

// forgetPending takes the registry's pending tasks out of the pending
// gauge, when it stops.
func (r *registry) forgetPending() {
	for _, rec := range r.tasks.byID {
		if !rec.task.Done() {
			pendingTasks.WithLabelValues(rec.task.Kind).Dec()
		}
	}
}
