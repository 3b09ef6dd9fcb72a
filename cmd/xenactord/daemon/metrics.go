package daemon

import (
	"fmt"

	"github.com/xenactor/xenactor/internal/telemetry"
)

// DefaultMetricsAddr is where xenactord serves /metrics by default.
const DefaultMetricsAddr = "127.0.0.1:9651"

// serveMetrics serves the process's metrics on cfg.MetricsAddr, if set,
// until Stop.
func (d *Daemon) serveMetrics(cfg Config) error {
	telemetry.SetPerVM(cfg.MetricsPerVM)
	if cfg.MetricsAddr == "" {
		return nil
	}
	srv, err := telemetry.Serve(cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("daemon: metrics: %w", err)
	}
	d.metrics = srv
	d.closers = append(d.closers, srv.Close)
	return nil
}

// MetricsAddr returns the address /metrics is served on, "" when it is
// not.
func (d *Daemon) MetricsAddr() string {
	if d.metrics == nil {
		return ""
	}
	return d.metrics.Addr()
}
