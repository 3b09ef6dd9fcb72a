package hvtrace_test

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvtrace"
	"github.com/xenactor/xenactor/hostio/hypervisor/hypervisortest"
)

func TestConformance(t *testing.T) {
	hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor {
		return hvtrace.Wrap(hvsim.New(hvsim.Config{}))
	})
}

func TestWrap(t *testing.T) {
	require.Nil(t, hvtrace.Wrap(nil))
	sim := hvsim.New(hvsim.Config{})
	w := hvtrace.Wrap(sim)
	require.Same(t, sim, hvtrace.Unwrap(w))
	require.Equal(t, w, hvtrace.Wrap(w), "wrapped once")
}

func TestTraced_Spans(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("test", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()
	hv := hvtrace.Wrap(hvsim.New(hvsim.Config{}))

	// No span in the context: no span.
	id, err := hv.Create(context.Background(), hypervisor.CreateConfig{UUID: "7f3a2c1e-0000-4000-8000-0000000000bb",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 1 << 16})
	require.NoError(t, err)
	require.Zero(t, reporter.SpansSubmitted())

	root := tracer.StartSpan("root")
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	require.NoError(t, hv.Pause(ctx, id))
	require.NoError(t, hv.SetMaxMem(ctx, id, 1<<16))
	require.NoError(t, hv.Destroy(ctx, id))
	require.Error(t, hv.Pause(ctx, id)) // gone
	root.Finish()

	spans := reporter.GetSpans()
	require.Len(t, spans, 5)
	for i, name := range []string{"hypervisor.pause", "hypervisor.set_max_mem", "hypervisor.destroy", "hypervisor.pause"} {
		s := spans[i].(*jaeger.Span)
		require.Equal(t, name, s.OperationName())
		require.Equal(t, root.(*jaeger.Span).SpanContext().SpanID(), s.SpanContext().ParentID())
		require.Equal(t, int64(id), s.Tags()["domid"])
	}
	failed := spans[3].(*jaeger.Span)
	require.Equal(t, true, failed.Tags()["error"])
	require.Equal(t, "not_found", failed.Tags()["error.kind"])
	require.Nil(t, spans[0].(*jaeger.Span).Tags()["error"])
}
