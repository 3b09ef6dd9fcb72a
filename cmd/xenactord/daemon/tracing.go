package daemon

import (
	"fmt"

	"github.com/opentracing/opentracing-go"

	"github.com/xenactor/xenactor/internal/tracing"
)

// startTracing sets up the tracer cfg.Tracing describes as the global
// tracer; Stop closes it last, flushing its spans, and restores the
// NoopTracer. Tracing off leaves the global tracer alone.
func (d *Daemon) startTracing(cfg Config) error {
	if err := cfg.Tracing.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if !cfg.Tracing.Enabled() {
		return nil
	}
	tracer, closer, err := tracing.Setup(cfg.Tracing)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	opentracing.SetGlobalTracer(tracer)
	d.closers = append(d.closers, func() error {
		if opentracing.GlobalTracer() == tracer {
			opentracing.SetGlobalTracer(opentracing.NoopTracer{})
		}
		return closer.Close()
	})
	d.log.Info("tracing", "agent", cfg.Tracing.Agent, "collector", cfg.Tracing.Collector,
		"sample", cfg.Tracing.SampleRate)
	return nil
}
