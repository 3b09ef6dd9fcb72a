package xenstore_test

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/stretchr/testify/require"
	"github.com/uber/jaeger-client-go"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

func TestClient_Spans(t *testing.T) {
	srv := xenstored.New(xenstored.Config{})
	t.Cleanup(func() { srv.Close() })
	nc, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	c := xenstore.NewClient(nc)
	t.Cleanup(func() { c.Close() })
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("test", jaeger.NewConstSampler(true), reporter)
	t.Cleanup(func() { _ = closer.Close() })

	// No span in the context: no span.
	require.NoError(t, c.Write(context.Background(), "/a", []byte("1")))
	require.Zero(t, reporter.SpansSubmitted())

	root := tracer.StartSpan("root")
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	require.NoError(t, c.Write(ctx, "/a/b", []byte("2")))
	_, err = c.Read(ctx, "/missing")
	require.Error(t, err)
	require.NoError(t, c.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		return tx.Write(ctx, "/a/c", []byte("3"))
	}))
	root.Finish()

	var names []string
	byName := map[string]*jaeger.Span{}
	for _, s := range reporter.GetSpans() {
		js := s.(*jaeger.Span)
		names = append(names, js.OperationName())
		byName[js.OperationName()] = js
		if js != root {
			require.Equal(t, root.(*jaeger.Span).SpanContext().SpanID(), js.SpanContext().ParentID())
		}
	}
	require.Equal(t, []string{"xenstore.write", "xenstore.read", "xenstore.transaction_start", "xenstore.write",
		"xenstore.transaction_end", "root"}, names)
	read := byName["xenstore.read"]
	require.Equal(t, "/missing", read.Tags()["xenstore.path"])
	require.Equal(t, "READ", read.Tags()["xenstore.op"])
	require.Equal(t, true, read.Tags()["error"])
	require.Equal(t, "not_found", read.Tags()["error.kind"])
	txWrite := byName["xenstore.write"] // the last write, in the transaction
	require.Equal(t, "/a/c", txWrite.Tags()["xenstore.path"])
	require.NotZero(t, txWrite.Tags()["xenstore.tx"])
}
