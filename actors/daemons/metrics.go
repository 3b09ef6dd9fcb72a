package daemons

import (
	"github.com/xenactor/xenactor/internal/telemetry"
)

// The daemon actors' metrics (docs/metrics.md), by daemon name.
var (
	restartsTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "daemon", Name: "restarts", Unit: "total",
		Help: "Restarts of a host daemon after a failure.", Labels: []string{"daemon"}})
	upGauge = telemetry.NewGauge(telemetry.Desc{Subsystem: "daemon", Name: "up", Unit: "state",
		Help: "1 while a host daemon is running (ready and healthy), 0 otherwise.", Labels: []string{"daemon"}})
	healthFailures = telemetry.NewCounter(telemetry.Desc{Subsystem: "daemon", Name: "health_failures",
		Unit: "total", Help: "Health probes of a host daemon that failed.", Labels: []string{"daemon"}})
	givenUpTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "daemon", Name: "given_up", Unit: "total",
		Help: "Times a host daemon failed too often and was given up on.", Labels: []string{"daemon"}})
)

// observeState sets the daemon's up gauge, and counts a give-up.
func (d *daemon) observeState(state State) {
	up := 0.0
	if state == StateRunning {
		up = 1
	}
	upGauge.WithLabelValues(d.cfg.Spec.Name).Set(up)
	if state == StateFailed {
		givenUpTotal.WithLabelValues(d.cfg.Spec.Name).Inc()
	}
}
