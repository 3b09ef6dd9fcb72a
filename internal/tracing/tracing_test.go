package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

func TestSetup_Off(t *testing.T) {
	tracer, closer, err := tracing.Setup(tracing.Config{})
	require.NoError(t, err)
	require.IsType(t, opentracing.NoopTracer{}, tracer)
	require.NoError(t, closer.Close())
	require.False(t, tracing.Enabled())
}

func TestSetup_Invalid(t *testing.T) {
	for _, cfg := range []tracing.Config{
		{Agent: "127.0.0.1:6831", Collector: "http://127.0.0.1:14268/api/traces"},
		{Collector: "127.0.0.1:14268"},
		{Agent: "127.0.0.1:6831", SampleRate: 1.5},
		{Agent: "127.0.0.1:6831", SampleRate: -0.1},
	} {
		_, _, err := tracing.Setup(cfg)
		require.ErrorIs(t, err, errdefs.ErrInvalid, "%+v", cfg)
	}
}

func TestSetup_Agent(t *testing.T) {
	tracer, closer, err := tracing.Setup(tracing.Config{Agent: "127.0.0.1:6831", SampleRate: 0.5})
	require.NoError(t, err)
	defer closer.Close()
	require.IsType(t, &jaeger.Tracer{}, tracer)
	host, err := os.Hostname()
	require.NoError(t, err)
	var hostnames int
	for _, tag := range tracer.(*jaeger.Tracer).Tags() {
		if tag.Key == jaeger.TracerHostnameTagKey {
			hostnames++
			require.Equal(t, host, tag.Value)
		}
	}
	require.Equal(t, 1, hostnames)
}

func TestStart_Off_AllocatesNothing(t *testing.T) {
	ctx := context.Background()
	got, span := tracing.Start(ctx, "x")
	require.Nil(t, span)
	require.Equal(t, ctx, got)
	got, span = tracing.StartOperation(ctx, nil, "VM.start")
	require.Nil(t, span)
	require.Equal(t, ctx, got)
	require.Nil(t, tracing.Inject(ctx))
	tracing.Finish(nil, errors.New("no span")) // no panic

	allocs := testing.AllocsPerRun(100, func() {
		c, s := tracing.Start(ctx, "xenstore.read")
		tracing.SetTag(s, "xenstore.path", "/local")
		tracing.Finish(s, nil)
		_ = tracing.Active(c)
	})
	require.Zero(t, allocs)
}

func TestStart_SpansAndHeaders(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer, err := tracing.Setup(tracing.Config{Reporter: reporter})
	require.NoError(t, err)
	useTracer(t, tracer, closer)
	require.True(t, tracing.Enabled())

	root := tracer.StartSpan("root")
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	header := tracing.Inject(ctx)
	require.NotEmpty(t, header)
	env := &actor.MessageEnvelope{Header: header}
	sc := tracing.Extract(actor.UnwrapEnvelopeHeader(env))
	require.NotNil(t, sc)
	require.Equal(t, root.(*jaeger.Span).SpanContext().TraceID(), sc.(jaeger.SpanContext).TraceID())
	require.Nil(t, tracing.Extract(nil))

	op, opSpan := tracing.StartOperation(context.Background(), sc, "VM.stop")
	_, child := tracing.Start(op, "atom.stop")
	tracing.Finish(child, fmt.Errorf("stop: %w", errdefs.ErrBusy))
	tracing.Finish(opSpan, nil)
	_, alone := tracing.StartOperation(context.Background(), nil, "VM.check")
	require.NotNil(t, alone, "tracing on: an operation without a parent is a trace's root")
	alone.Finish()
	root.Finish()

	spans := reporter.GetSpans()
	require.Len(t, spans, 4)
	stop, vmStop := spans[0].(*jaeger.Span), spans[1].(*jaeger.Span)
	require.Equal(t, "atom.stop", stop.OperationName())
	require.Equal(t, true, stop.Tags()["error"])
	require.Equal(t, "busy", stop.Tags()["error.kind"])
	require.Equal(t, vmStop.SpanContext().SpanID(), stop.SpanContext().ParentID())
	require.Equal(t, root.(*jaeger.Span).SpanContext().SpanID(), vmStop.SpanContext().ParentID())
	require.Nil(t, vmStop.Tags()["error"])
}

// BenchmarkStartOff is the cost of an instrumented call when tracing is
// off: no span in the context, the NoopTracer global. It allocates nothing.
func BenchmarkStartOff(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, s := tracing.Start(ctx, "xenstore.read")
		tracing.SetTag(s, "xenstore.path", "/local/domain/1")
		tracing.Finish(s, nil)
		_ = tracing.Active(c)
	}
}
