package xenstore

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xenactor/xenactor/internal/telemetry"
)

// The client's metrics (docs/metrics.md).
var (
	clientOps = telemetry.NewCounter(telemetry.Desc{Subsystem: "xenstore_client", Name: "operations", Unit: "total",
		Help:   "Requests the xenstore clients sent, by op (read, write, ...) and result (ok or the error kind).",
		Labels: []string{"op", "result"}})
	clientWatchEvents = telemetry.NewCounter(telemetry.Desc{Subsystem: "xenstore_client", Name: "watch_events",
		Unit: "total", Help: "Watch events the xenstore clients received."}).WithLabelValues()
	// clientOK holds the ok series of each known op, to spare the hot path
	// a label lookup.
	clientOK = func() (c [len(opNames)]prometheus.Counter) {
		for op := range c {
			c[op] = clientOps.WithLabelValues(OpLabel(Op(op)), "ok")
		}
		return c
	}()
)

// OpLabel is an op as a metric label: its xs_wire.h name in lower case,
// "unknown" for an op xs_wire.h does not have.
func OpLabel(op Op) string {
	if !op.Known() {
		return "unknown"
	}
	return strings.ToLower(op.String())
}

// counted is roundTrip counted in clientOps.
func (c *Client) counted(ctx context.Context, op Op, tx uint32, args []string, tail []byte) (Message, error) {
	m, err := c.roundTrip(ctx, op, tx, args, tail)
	if err == nil && op.Known() {
		clientOK[op].Inc()
	} else {
		clientOps.WithLabelValues(OpLabel(op), telemetry.Result(err)).Inc()
	}
	return m, err
}
