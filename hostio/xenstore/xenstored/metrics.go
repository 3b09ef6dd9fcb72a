package xenstored

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/telemetry"
)

// opCount bounds the ops of xs_wire.h, which are numbered from 0.
const opCount = int(xenstore.OpSetQuota) + 1

// The server's metrics (docs/metrics.md).
var (
	serverOps = telemetry.NewCounter(telemetry.Desc{Subsystem: "xenstored", Name: "operations", Unit: "total",
		Help:   "Requests the xenstored served, by op (read, write, ...; unknown for an op xs_wire.h lacks).",
		Labels: []string{"op"}})
	watchEventsFired = telemetry.NewCounter(telemetry.Desc{Subsystem: "xenstored", Name: "watch_events",
		Unit: "total", Help: "Watch events the xenstored fired (queued to a connection)."}).WithLabelValues()
	connections = telemetry.NewGauge(telemetry.Desc{Subsystem: "xenstored", Name: "connections", Unit: "conns",
		Help: "Connections open to the xenstored: sockets and domains' rings."}).WithLabelValues()
	// opCounters holds each op's series, to spare the hot path a label
	// lookup; the last is "unknown".
	opCounters = func() (c [opCount + 1]prometheus.Counter) {
		for op := range c {
			c[op] = serverOps.WithLabelValues(xenstore.OpLabel(xenstore.Op(op)))
		}
		return c
	}()
)

// observeOp counts a request of op.
func observeOp(op xenstore.Op) {
	if int(op) < opCount {
		opCounters[op].Inc()
		return
	}
	opCounters[opCount].Inc()
}
