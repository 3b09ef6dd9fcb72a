package main_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/thrift"
	jaegerthrift "github.com/uber/jaeger-client-go/thrift-gen/jaeger"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// TestXenactord_TraceCrossesTheRPCBoundary runs the daemon exporting its
// spans to a collector stub, and starts a VM with the Go client from a span
// of the test's own tracer: the daemon's span of the call is a child of the
// client's, in the same trace, and the VM actor's operation a child of
// that.
func TestXenactord_TraceCrossesTheRPCBoundary(t *testing.T) {
	type span struct {
		traceLow, id, parent int64
		service              string
	}
	var mu sync.Mutex
	spans := map[string][]span{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		buf := thrift.NewTMemoryBuffer()
		_, _ = buf.Write(body)
		batch := jaegerthrift.NewBatch()
		if err := batch.Read(r.Context(), thrift.NewTBinaryProtocolTransport(buf)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, s := range batch.GetSpans() {
			spans[s.GetOperationName()] = append(spans[s.GetOperationName()], span{traceLow: s.GetTraceIdLow(),
				id: s.GetSpanId(), parent: s.GetParentSpanId(), service: batch.GetProcess().GetServiceName()})
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(collector.Close)

	bin := build(t)
	runDir := shortDir(t)
	stateDir := filepath.Join(runDir, "state")
	d := startProc(t, bin, "-api-addr", "127.0.0.1:0", "-metrics-addr", "", "-migrate-addr", "", "-trace-collector",
		collector.URL+"/api/traces", "-run-dir", runDir, "-state-dir", stateDir, "-host-memory", "1024")
	d.waitLog(t, "xenactord ready")

	var root tracedStart
	mustChild(t, "traced-start", filepath.Join(stateDir, "api", "client.json"), "", &root)
	d.terminate(t) // flushes the daemon's spans

	mu.Lock()
	defer mu.Unlock()
	apiSpans := spans["api.StartVM"]
	require.Len(t, apiSpans, 1, "the daemon's span of the call: %v", spans)
	api := apiSpans[0]
	require.Equal(t, "xenactord", api.service)
	require.Equal(t, root.TraceLow, api.traceLow, "the client's trace")
	require.Equal(t, root.SpanID, api.parent, "a child of the client's span")
	require.NotEmpty(t, spans["VM.start"])
	require.Equal(t, api.id, spans["VM.start"][0].parent, "the VM's operation under the call")
	require.Equal(t, api.traceLow, spans["VM.start"][0].traceLow)
}

// tracedStart is what the child of TestXenactord_TraceCrossesTheRPCBoundary
// prints: its root span's ids.
type tracedStart struct {
	TraceLow int64 `json:"trace_low"`
	SpanID   int64 `json:"span_id"`
}

func init() { children["traced-start"] = startTraced }

// startTraced creates a VM and starts it from a span of a tracer of its
// own, reporting in memory, and returns the span's ids.
func startTraced(t require.TestingT, cfg client.Config, _ string) any {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("xenactor-test", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()
	opentracing.SetGlobalTracer(tracer)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	require.NoError(t, err)
	defer c.Close()
	const uuid = "0e0b7e8a-5b1c-4d2e-9f00-0000000007ac"
	require.NoError(t, c.CreateVM(ctx, &messages.VMSpec{Uuid: uuid, Name: "traced",
		Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1, MemoryKib: 64 << 10, Kernel: "sim:linux"}))
	root := tracer.StartSpan("test.start")
	task, err := c.StartVM(opentracing.ContextWithSpan(ctx, root), uuid, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	root.Finish()
	rc := root.Context().(jaeger.SpanContext)
	return tracedStart{TraceLow: int64(rc.TraceID().Low), SpanID: int64(rc.SpanID())}
}
