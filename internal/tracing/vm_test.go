package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/thrift"
	jaegerthrift "github.com/uber/jaeger-client-go/thrift-gen/jaeger"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/tracing"
)

const testUUID = "7f3a2c1e-0000-4000-8000-0000000000aa"

// useTracer makes tracer the global tracer until the test ends, then closes
// it and restores the NoopTracer. The tests of this package do not run in
// parallel: the global tracer is the process's.
func useTracer(t *testing.T, tracer opentracing.Tracer, closer io.Closer) {
	t.Helper()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() {
		opentracing.SetGlobalTracer(opentracing.NoopTracer{})
		_ = closer.Close()
	})
}

// startVM starts a VM with a disk and a network interface on a simulated
// host, from ctx, and waits for the start's task; it returns the task id
// and the clients of the VM and of the task registry.
func startVM(t *testing.T, ctx context.Context) (string, vm.Client, tasks.Client) {
	t.Helper()
	return startVMOn(t, ctx, nil)
}

// startVMOn is startVM with the simulated host's hypervisor wrapped by wrap,
// if not nil.
func startVMOn(t *testing.T, ctx context.Context, wrap func(hypervisor.Hypervisor) hypervisor.Hypervisor) (
	string, vm.Client, tasks.Client) {
	t.Helper()
	h := simtest.NewHost(t)
	xs := simtest.Dom0(t, h)
	system := actortest.System(t)
	registry := tasks.NewClient(system, system.Root.Spawn(tasks.Props()))
	spec := vm.Spec{UUID: testUUID, Name: "traced", Type: hypervisor.DomainTypePV,
		VCPUs: 1, MemoryKiB: 64 << 10, Kernel: "sim:linux",
		VBDs: []vm.VBD{{DevID: 51712, Params: "/dev/loop0"}},
		VIFs: []vm.VIF{{DevID: 0, MAC: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
	var hv hypervisor.Hypervisor = h.Hypervisor()
	if wrap != nil {
		hv = wrap(hv)
	}
	pid, err := system.Root.SpawnNamed(vm.Props(vm.Config{Spec: spec, Hypervisor: hv, Xenstore: xs,
		Hotplug: h.Hotplug().Device(), Tasks: registry.PID()}), vm.Name(spec.UUID))
	require.NoError(t, err)
	machine := vm.NewClient(system, pid)
	id, err := machine.Start(ctx, false)
	require.NoError(t, err)
	wait(t, registry, id)
	return id, machine, registry
}

// wait waits for the task id to complete.
func wait(t *testing.T, registry tasks.Client, id string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	task, err := registry.Wait(wctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "task %s: %v", id, task.Err)
}

func TestTracing_VMStart_SpanTree(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer, err := tracing.Setup(tracing.Config{Reporter: reporter})
	require.NoError(t, err)
	useTracer(t, tracer, closer)

	root := tracer.StartSpan("test.root")
	taskID, _, _ := startVM(t, opentracing.ContextWithSpan(context.Background(), root))
	root.Finish()

	rootCtx := root.(*jaeger.Span).SpanContext()
	byID := map[jaeger.SpanID]*jaeger.Span{}
	byName := map[string][]*jaeger.Span{}
	for _, s := range reporter.GetSpans() {
		js := s.(*jaeger.Span)
		if js.SpanContext().TraceID() != rootCtx.TraceID() {
			continue
		}
		byID[js.SpanContext().SpanID()] = js
		byName[js.OperationName()] = append(byName[js.OperationName()], js)
	}
	one := func(name string) *jaeger.Span {
		t.Helper()
		require.Len(t, byName[name], 1, "spans named %s", name)
		return byName[name][0]
	}
	parentOf := func(s *jaeger.Span) *jaeger.Span {
		t.Helper()
		p := byID[s.SpanContext().ParentID()]
		require.NotNil(t, p, "the parent of %s is not in the trace", s.OperationName())
		return p
	}
	// Every span but the root hangs off a span of the same trace.
	for _, s := range byID {
		if s != root {
			parentOf(s)
		}
	}

	start := one("VM.start")
	require.Equal(t, rootCtx.SpanID(), start.SpanContext().ParentID())
	require.Equal(t, testUUID, start.Tags()["vm"])
	require.Equal(t, taskID, start.Tags()["task"])
	require.Equal(t, "VM.start", start.Tags()["kind"])
	require.Nil(t, start.Tags()["error"])

	for _, atom := range []string{"atom.create", "atom.build", "atom.home", "atom.introduce", "atom.plug",
		"atom.unpause"} {
		require.Same(t, start, parentOf(one(atom)), atom)
	}
	for call, atom := range map[string]string{"hypervisor.create": "atom.create", "hypervisor.build": "atom.build",
		"hypervisor.unpause": "atom.unpause", "xenstore.introduce": "atom.introduce"} {
		require.Equal(t, atom, parentOf(one(call)).OperationName(), call)
	}
	require.Equal(t, testUUID, one("hypervisor.create").Tags()["vm"])
	require.NotNil(t, one("hypervisor.build").Tags()["domid"])

	// The home is written in a transaction: its requests are the home
	// atom's children, tagged with the transaction and their path.
	home := one("atom.home")
	var writes int
	for _, s := range byName["xenstore.write"] {
		if parentOf(s) == home {
			writes++
			require.NotZero(t, s.Tags()["xenstore.tx"])
			require.NotEmpty(t, s.Tags()["xenstore.path"])
			require.Equal(t, "WRITE", s.Tags()["xenstore.op"])
		}
	}
	require.NotZero(t, writes, "no xenstore write under atom.home")
	require.Equal(t, home, parentOf(byName["xenstore.transaction_start"][0]))

	// The devices are plugged by their actors: their xenstore requests
	// are descendants of the plug atom.
	plug := one("atom.plug")
	var under int
	for _, s := range byID {
		for p := s; p != root && p != start; p = parentOf(p) {
			if p == plug && s != plug {
				under++
				break
			}
		}
	}
	require.Greater(t, under, 2, "spans under atom.plug")
}

func TestSetup_Collector_ReceivesAVMStart(t *testing.T) {
	var (
		mu       sync.Mutex
		services []string
		hosts    []string
		names    = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != "/api/traces" {
			http.Error(w, "bad request", http.StatusBadRequest)
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
		services = append(services, batch.GetProcess().GetServiceName())
		for _, tag := range batch.GetProcess().GetTags() {
			if tag.GetKey() == jaeger.TracerHostnameTagKey {
				hosts = append(hosts, tag.GetVStr())
			}
		}
		for _, s := range batch.GetSpans() {
			names[s.GetOperationName()] = true
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	tracer, closer, err := tracing.Setup(tracing.Config{Collector: srv.URL + "/api/traces"})
	require.NoError(t, err)
	useTracer(t, tracer, closer)

	root := tracer.StartSpan("test.root")
	_, _, _ = startVM(t, opentracing.ContextWithSpan(context.Background(), root))
	root.Finish()
	require.NoError(t, closer.Close()) // flushes

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, services)
	for _, s := range services {
		require.Equal(t, "xenactord", s)
	}
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Len(t, hosts, len(services), "a hostname tag per batch")
	for _, h := range hosts {
		require.Equal(t, host, h)
	}
	for _, n := range []string{"test.root", "VM.start", "atom.build", "hypervisor.build", "xenstore.write"} {
		require.True(t, names[n], "span %s not received", n)
	}
}

func TestTracing_VMDestroy_Spans(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer, err := tracing.Setup(tracing.Config{Reporter: reporter})
	require.NoError(t, err)
	useTracer(t, tracer, closer)
	_, machine, registry := startVM(t, context.Background()) // its own trace: tracing is on
	started := reporter.SpansSubmitted()
	require.NotZero(t, started)

	root := tracer.StartSpan("test.root")
	id, err := machine.Destroy(opentracing.ContextWithSpan(context.Background(), root))
	require.NoError(t, err)
	wait(t, registry, id)
	root.Finish()

	byName := map[string]*jaeger.Span{}
	for _, s := range reporter.GetSpans()[started:] {
		js := s.(*jaeger.Span)
		require.Equal(t, root.(*jaeger.Span).SpanContext().TraceID(), js.SpanContext().TraceID(), js.OperationName())
		byName[js.OperationName()] = js
	}
	parent := func(name string) string {
		t.Helper()
		s := byName[name]
		require.NotNil(t, s, "no span %s", name)
		for n, p := range byName {
			if p.SpanContext().SpanID() == s.SpanContext().ParentID() {
				return n
			}
		}
		return ""
	}
	require.Equal(t, "test.root", parent("VM.destroy"))
	require.Equal(t, id, byName["VM.destroy"].Tags()["task"])
	require.Equal(t, "VM.destroy", parent("atom.teardown"))
	require.Equal(t, "atom.teardown", parent("atom.unplug"))
	require.Equal(t, "atom.teardown", parent("hypervisor.destroy"))
	require.Equal(t, "atom.teardown", parent("xenstore.rm"))
}

// spanSpy records whether the contexts of the hypervisor calls carry a span.
type spanSpy struct {
	hypervisor.Hypervisor
	mu    sync.Mutex
	calls int
	spans int
}

func (s *spanSpy) saw(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if opentracing.SpanFromContext(ctx) != nil {
		s.spans++
	}
}

func (s *spanSpy) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	s.saw(ctx)
	return s.Hypervisor.Create(ctx, cfg)
}

func (s *spanSpy) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	s.saw(ctx)
	return s.Hypervisor.Build(ctx, id, cfg)
}

func (s *spanSpy) Unpause(ctx context.Context, id hypervisor.DomID) error {
	s.saw(ctx)
	return s.Hypervisor.Unpause(ctx, id)
}

// TestTracing_Off_VMStartCarriesNoSpan checks that with tracing off (the
// NoopTracer global, no span from the caller) a VM start puts no span, not
// even a no-op one, in the contexts of its calls: the instrumented code
// below then starts none.
func TestTracing_Off_VMStartCarriesNoSpan(t *testing.T) {
	require.IsType(t, opentracing.NoopTracer{}, opentracing.GlobalTracer())
	spy := &spanSpy{}
	startVMOn(t, context.Background(), func(h hypervisor.Hypervisor) hypervisor.Hypervisor {
		spy.Hypervisor = h
		return spy
	})
	spy.mu.Lock()
	defer spy.mu.Unlock()
	require.Equal(t, 3, spy.calls)
	require.Zero(t, spy.spans)
}

// TestTracing_On_VMStartCarriesSpans is the control of
// TestTracing_Off_VMStartCarriesNoSpan: with a span from the caller, the
// calls' contexts carry one.
func TestTracing_On_VMStartCarriesSpans(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer, err := tracing.Setup(tracing.Config{Reporter: reporter})
	require.NoError(t, err)
	useTracer(t, tracer, closer)
	spy := &spanSpy{}
	root := tracer.StartSpan("test.root")
	startVMOn(t, opentracing.ContextWithSpan(context.Background(), root), func(h hypervisor.Hypervisor) hypervisor.Hypervisor {
		spy.Hypervisor = h
		return spy
	})
	root.Finish()
	spy.mu.Lock()
	defer spy.mu.Unlock()
	require.Equal(t, 3, spy.spans)
}
