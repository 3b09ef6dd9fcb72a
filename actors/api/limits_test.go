package api_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// stats asks the api actor for its counters.
func (e *env) stats(t *testing.T) *api.Stats {
	t.Helper()
	r, err := e.system.Root.RequestFuture(e.api, &api.GetStats{}, waitFor).Result()
	require.NoError(t, err)
	return r.(*api.Stats)
}

func TestAPI_InFlightLimit(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	e := newEnv(t, func(c *api.Config) {
		c.MaxInFlight = 2
		*c = api.WithBeforeServe(*c, func(op string) {
			if op == "ListVMs" {
				<-release
			}
		})
	})
	ctx := ctxFor(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := e.c.ListVMs(ctx)
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return e.stats(t).InFlight == 2 }, waitFor, tick)
	_, err := e.c.HostInfo(ctx)
	require.True(t, errdefs.IsResourceExhausted(err), "%v", err)
	require.EqualValues(t, 1, e.stats(t).Rejected)

	unblock()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	require.Eventually(t, func() bool { return e.stats(t).InFlight == 0 }, waitFor, tick)
	_, err = e.c.HostInfo(ctx)
	require.NoError(t, err)
}

func TestAPI_PanicRecovered(t *testing.T) {
	e := newEnv(t, func(c *api.Config) {
		*c = api.WithBeforeServe(*c, func(op string) {
			if op == "StatVM" {
				panic("boom")
			}
		})
	})
	ctx := ctxFor(t)
	_, err := e.c.StatVM(ctx, newUUID())
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	require.Contains(t, err.Error(), "boom")
	require.EqualValues(t, 1, e.stats(t).Panics)
	// The actor still serves.
	_, err = e.c.ListVMs(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 0, e.stats(t).InFlight)
}

func TestAPI_RequestWithoutSenderIsDropped(t *testing.T) {
	e := newEnv(t, nil)
	e.system.Root.Send(e.api, &messages.Request{Op: &messages.Request_ListVms{ListVms: &messages.ListVMsRequest{}}})
	require.Eventually(t, func() bool { return e.stats(t).Dropped == 1 }, waitFor, tick)
}

func TestAPI_LongPollsAreCappedAndEndWhenTheActorStops(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.MaxWait = 50 * time.Millisecond })
	ctx := ctxFor(t)
	spec := newSpec()
	require.NoError(t, e.c.CreateVM(ctx, spec))
	noack := newSpec()
	noack.Kernel = "sim:hostile-noack,crash=1h"
	require.NoError(t, e.c.CreateVM(ctx, noack))
	succeed(t)(e.c.StartVM(ctx, noack.Uuid, false))
	task, err := e.c.ShutdownVM(ctx, noack.Uuid, false)
	require.NoError(t, err)

	// Asked to wait an hour, the calls come back after MaxWait.
	pending, err := e.c.WaitTask(ctx, task.ID, time.Hour)
	require.NoError(t, err)
	require.Equal(t, messages.TaskState_TASK_STATE_PENDING, pending.State)
	b, err := e.c.Barrier(ctx)
	require.NoError(t, err)
	batch, err := e.c.NextEvents(ctx, b.Seq+1000, time.Hour)
	require.NoError(t, err)
	require.NotNil(t, batch)

	// A poll in flight ends when the api actor stops.
	e2 := newEnvOn(t, e)
	done := make(chan error, 1)
	go func() {
		_, err := e2.c.WaitTask(ctx, task.ID, time.Hour)
		done <- err
	}()
	require.Eventually(t, func() bool { return e2.stats(t).InFlight == 1 }, waitFor, tick)
	require.NoError(t, e.system.Root.StopFuture(e2.api).Wait())
	select {
	case err := <-done:
		require.True(t, errdefs.IsUnavailable(err), "%v", err)
	case <-ctx.Done():
		t.Fatal("the wait did not end with the actor")
	}
	_, err = e.c.CancelTask(ctx, task.ID)
	require.NoError(t, err)
}

// newEnvOn spawns a second api actor, with the default MaxWait, on the host
// of e.
func newEnvOn(t *testing.T, e *env) *env {
	t.Helper()
	pid, err := e.system.Root.SpawnNamed(api.Props(api.Config{Host: e.host}), "api-2")
	require.NoError(t, err)
	e2 := *e
	e2.api, e2.c = pid, client.New(client.InProcess(e.system, pid))
	return &e2
}

func TestAPI_Tracing(t *testing.T) {
	tracer := mocktracer.New()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(prev) })
	e := newEnv(t, nil)
	spec := newSpec()
	require.NoError(t, e.c.CreateVM(ctxFor(t), spec))
	tracer.Reset()

	parent := tracer.StartSpan("cli.start")
	ctx := opentracing.ContextWithSpan(ctxFor(t), parent)
	succeed(t)(e.c.StartVM(ctx, spec.Uuid, false))
	_, err := e.c.StatVM(ctx, newUUID())
	require.Error(t, err)
	parent.Finish()

	var start, stat, vmStart *mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		switch s.OperationName {
		case "api.StartVM":
			start = s
		case "api.StatVM":
			stat = s
		case "VM.start":
			vmStart = s
		}
	}
	require.NotNil(t, start, "a span api.StartVM")
	require.NotNil(t, vmStart, "the VM actor's operation span")
	require.Equal(t, start.SpanContext.SpanID, vmStart.ParentID, "the VM's operation joins the API call's trace")
	pc := parent.Context().(mocktracer.MockSpanContext)
	require.Equal(t, pc.SpanID, start.ParentID)
	require.Equal(t, pc.TraceID, start.SpanContext.TraceID)
	require.Nil(t, start.Tag("error"))
	require.NotNil(t, stat)
	require.Equal(t, true, stat.Tag("error"))
	require.Equal(t, "not_found", stat.Tag("error.kind"))

	// Without a trace, a root span.
	tracer.Reset()
	_, err = e.c.ListVMs(context.Background())
	require.NoError(t, err)
	spans := tracer.FinishedSpans()
	require.Len(t, spans, 1)
	require.Equal(t, "api.ListVMs", spans[0].OperationName)
	require.Zero(t, spans[0].ParentID)
}
