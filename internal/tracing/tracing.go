package tracing

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/transport"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// queueSize is how many finished spans the reporter holds before it sends
// them; more are dropped.
const queueSize = 10000

// ServiceName is the name the daemon's spans are reported under.
const ServiceName = "xenactord"

// Config configures the tracer. The zero value is tracing off.
type Config struct {
	// Agent is the host:port of a Jaeger agent's UDP compact-thrift
	// endpoint (6831 by default on the agent).
	Agent string
	// Collector is the URL of a Jaeger collector's thrift-over-HTTP
	// endpoint, http://host:14268/api/traces. Agent and Collector are
	// mutually exclusive.
	Collector string
	// SampleRate is the probability that a trace is sampled: 0 (the
	// default) and 1 sample every trace.
	SampleRate float64
	// ServiceName overrides ServiceName.
	ServiceName string
	// Reporter, when set, receives the spans instead of an agent or a
	// collector (jaeger.NewInMemoryReporter in tests).
	Reporter jaeger.Reporter
	// FlushInterval is how often buffered spans are sent; 0 for the
	// client's default (one second).
	FlushInterval time.Duration
}

// Enabled reports whether c turns tracing on.
func (c Config) Enabled() bool { return c.Agent != "" || c.Collector != "" || c.Reporter != nil }

// Validate checks c: at most one exporter, a collector URL with a scheme
// and a host, a sample rate in [0, 1].
func (c Config) Validate() error {
	if c.Agent != "" && c.Collector != "" {
		return fmt.Errorf("tracing: an agent and a collector are mutually exclusive: %w", errdefs.ErrInvalid)
	}
	if c.Collector != "" {
		u, err := url.Parse(c.Collector)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("tracing: collector %q: not an http(s) URL: %w", c.Collector, errdefs.ErrInvalid)
		}
	}
	if c.SampleRate < 0 || c.SampleRate > 1 {
		return fmt.Errorf("tracing: sample rate %v not in [0, 1]: %w", c.SampleRate, errdefs.ErrInvalid)
	}
	return nil
}

// Setup returns the tracer cfg describes and the closer that flushes and
// stops it. When cfg does not enable tracing it returns
// opentracing.NoopTracer and a closer that does nothing. Setup does not set
// the global tracer.
func Setup(cfg Config) (opentracing.Tracer, io.Closer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.Enabled() {
		return opentracing.NoopTracer{}, nopCloser{}, nil
	}
	var sampler jaeger.Sampler = jaeger.NewConstSampler(true)
	if cfg.SampleRate > 0 && cfg.SampleRate < 1 {
		var err error
		if sampler, err = jaeger.NewProbabilisticSampler(cfg.SampleRate); err != nil {
			return nil, nil, fmt.Errorf("tracing: %w: %w", errdefs.ErrInvalid, err)
		}
	}
	name := cfg.ServiceName
	if name == "" {
		name = ServiceName
	}
	reporter := cfg.Reporter
	if reporter == nil {
		var sender jaeger.Transport
		if cfg.Collector != "" {
			sender = transport.NewHTTPTransport(cfg.Collector)
		} else {
			udp, err := jaeger.NewUDPTransport(cfg.Agent, 0)
			if err != nil {
				return nil, nil, fmt.Errorf("tracing: agent %s: %w: %w", cfg.Agent, errdefs.ErrInvalid, err)
			}
			sender = udp
		}
		// A VM start makes a few hundred spans in a few milliseconds:
		// the client's default queue (100) would drop most of them.
		ropts := []jaeger.ReporterOption{jaeger.ReporterOptions.QueueSize(queueSize)}
		if cfg.FlushInterval > 0 {
			ropts = append(ropts, jaeger.ReporterOptions.BufferFlushInterval(cfg.FlushInterval))
		}
		reporter = jaeger.NewRemoteReporter(sender, ropts...)
	}
	// The client tags the process with hostname, ip and jaeger.version.
	tracer, closer := jaeger.NewTracer(name, sampler, reporter)
	return tracer, closer, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// Start starts the span name as a child of the span in ctx and returns ctx
// carrying it. When ctx carries no span it returns ctx and a nil span, and
// allocates nothing: Finish and the other helpers accept a nil span.
func Start(ctx context.Context, name string) (context.Context, opentracing.Span) {
	parent := opentracing.SpanFromContext(ctx)
	if parent == nil {
		return ctx, nil
	}
	span := parent.Tracer().StartSpan(name, opentracing.ChildOf(parent.Context()))
	return opentracing.ContextWithSpan(ctx, span), span
}

// StartOperation starts the span of an operation an actor runs: a child of
// parent (a span context Extract read from the request) when there is one,
// else a trace's root when the global tracer is not a NoopTracer, else
// nothing (a nil span, ctx unchanged).
func StartOperation(ctx context.Context, parent opentracing.SpanContext, name string) (context.Context, opentracing.Span) {
	tracer := opentracing.GlobalTracer()
	var span opentracing.Span
	switch {
	case parent != nil:
		span = tracer.StartSpan(name, opentracing.ChildOf(parent))
	case Enabled():
		span = tracer.StartSpan(name)
	default:
		return ctx, nil
	}
	return opentracing.ContextWithSpan(ctx, span), span
}

// Enabled reports whether the global tracer is a real one.
func Enabled() bool {
	_, noop := opentracing.GlobalTracer().(opentracing.NoopTracer)
	return !noop
}

// SetTag sets the tag key on span, if not nil.
func SetTag(span opentracing.Span, key string, value any) {
	if span != nil {
		span.SetTag(key, value)
	}
}

// Finish ends span, if not nil, tagging an error: error=true, error.kind
// with the errdefs kind err wraps, and the error as a log event.
func Finish(span opentracing.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		ext.Error.Set(span, true)
		if kind := errdefs.Kind(err); kind != "" {
			span.SetTag("error.kind", kind)
		}
		span.LogKV("event", "error", "message", err.Error())
	}
	span.Finish()
}

// Active reports whether ctx carries a span: whether Start would start one.
// Code that builds a span's name or tags checks it first, so that it
// allocates nothing when tracing is off.
func Active(ctx context.Context) bool { return opentracing.SpanFromContext(ctx) != nil }
