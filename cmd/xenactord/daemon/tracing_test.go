package daemon_test

import (
	"path/filepath"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/tracing"
)

func TestDaemon_Tracing(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
		Tracing: tracing.Config{Reporter: reporter}})
	tracer, ok := opentracing.GlobalTracer().(*jaeger.Tracer)
	require.True(t, ok, "the daemon's tracer is the global one")

	root := tracer.StartSpan("test.root")
	ctx := opentracing.ContextWithSpan(ctxFor(t), root)
	c, err := d.Host().AddVM(ctx, newSpec(0))
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	runTask(t, d, id)
	root.Finish()

	var start *jaeger.Span
	for _, s := range reporter.GetSpans() {
		if js := s.(*jaeger.Span); js.OperationName() == "VM.start" {
			start = js
		}
	}
	require.NotNil(t, start)
	require.Equal(t, root.(*jaeger.Span).SpanContext().SpanID(), start.SpanContext().ParentID())
	require.Equal(t, id, start.Tags()["task"])

	require.NoError(t, d.Stop())
	require.IsType(t, opentracing.NoopTracer{}, opentracing.GlobalTracer(), "Stop restores the NoopTracer")
}

func TestDaemon_TracingUsageErrors(t *testing.T) {
	for _, tc := range []tracing.Config{
		{Agent: "127.0.0.1:6831", Collector: "http://127.0.0.1:14268/api/traces"},
		{Collector: "http://127.0.0.1:14268/api/traces", SampleRate: 2},
	} {
		dir := t.TempDir()
		_, err := daemon.Start(ctxFor(t), daemon.Config{StateDir: filepath.Join(dir, "state"), RunDir: dir,
			Tracing: tc})
		require.ErrorIs(t, err, daemon.ErrUsage, "%+v", tc)
		require.IsType(t, opentracing.NoopTracer{}, opentracing.GlobalTracer())
	}
}
