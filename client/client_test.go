package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// fake is a Caller answering from a list of responses, recording requests.
type fake struct {
	reqs  []*messages.Request
	resps []*messages.Response
	err   error
}

func (f *fake) Call(_ context.Context, req *messages.Request) (*messages.Response, error) {
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return nil, f.err
	}
	resp := f.resps[0]
	f.resps = f.resps[1:]
	return resp, nil
}

func (f *fake) Close() error { return nil }

func taskResp(state messages.TaskState, progress float64, e *messages.Error) *messages.Response {
	return &messages.Response{Result: &messages.Response_Task{Task: &messages.Task{Id: "t", State: state,
		Progress: progress, Error: e}}}
}

func TestClient_WaitPollsAndMapsTheFailure(t *testing.T) {
	f := &fake{resps: []*messages.Response{
		taskResp(messages.TaskState_TASK_STATE_PENDING, 0.2, nil),
		taskResp(messages.TaskState_TASK_STATE_PENDING, 0.6, nil),
		taskResp(messages.TaskState_TASK_STATE_FAILED, 0.6, &messages.Error{Kind: "busy", Message: "vm x: busy"}),
	}}
	c := client.New(f)
	var seen []float64
	task, err := c.Wait(context.Background(), "t", func(t *messages.Task) { seen = append(seen, t.Progress) })
	require.Equal(t, []float64{0.2, 0.6}, seen)
	require.NotNil(t, task)
	require.True(t, errdefs.IsBusy(err))
	require.EqualError(t, err, "vm x: busy")
	require.Len(t, f.reqs, 3)
	for _, r := range f.reqs {
		require.Equal(t, "t", r.GetWaitTask().GetId())
		require.Positive(t, r.GetWaitTask().GetTimeoutMillis())
	}
}

func TestClient_Errors(t *testing.T) {
	f := &fake{resps: []*messages.Response{
		{Error: &messages.Error{Kind: "not_found", Message: "vm u: not found"}},
		{Error: &messages.Error{Message: "odd"}},
		{Result: &messages.Response_Empty{Empty: &messages.Empty{}}},
	}}
	c := client.New(f)
	_, err := c.StatVM(context.Background(), "u")
	require.True(t, errdefs.IsNotFound(err))
	var e *client.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, client.Error{Kind: "not_found", Message: "vm u: not found"}, *e)
	err = c.RemoveVM(context.Background(), "u")
	require.EqualError(t, err, "odd")
	require.Empty(t, errdefs.Kind(err))
	// A result that does not match the request.
	_, err = c.HostInfo(context.Background())
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	// Transport errors come back as they are.
	f.err = errors.New("broken pipe")
	_, err = c.ListVMs(context.Background())
	require.EqualError(t, err, "broken pipe")
	// Events closes its channel when calls fail.
	_, ok := <-c.Events(context.Background(), 0)
	require.False(t, ok)
}

func TestClient_InjectsTheSpan(t *testing.T) {
	tracer := mocktracer.New()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(prev) })
	f := &fake{resps: []*messages.Response{{Result: &messages.Response_Empty{Empty: &messages.Empty{}}},
		{Result: &messages.Response_Empty{Empty: &messages.Empty{}}}}}
	c := client.New(f)
	span := tracer.StartSpan("cli")
	require.NoError(t, c.RemoveVM(opentracing.ContextWithSpan(context.Background(), span), "u"))
	ctx, err := tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier(f.reqs[0].Trace))
	require.NoError(t, err)
	require.Equal(t, span.Context().(mocktracer.MockSpanContext).SpanID, ctx.(mocktracer.MockSpanContext).SpanID)
	require.NoError(t, c.RemoveVM(context.Background(), "u"))
	require.Empty(t, f.reqs[1].Trace)
}
