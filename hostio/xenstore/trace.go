package xenstore

import (
	"context"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"

	"github.com/xenactor/xenactor/internal/tracing"
)

// exchange is counted (roundTrip counted in the metrics) under the span "xenstore.<op>" (xenstore.write,
// ...), tagged with the op, the path and the transaction, when ctx carries
// a span; it costs nothing when ctx carries none.
func (c *Client) exchange(ctx context.Context, op Op, tx uint32, args []string, tail []byte) (Message, error) {
	if !tracing.Active(ctx) {
		return c.counted(ctx, op, tx, args, tail)
	}
	ctx, span := tracing.Start(ctx, "xenstore."+strings.ToLower(op.String()))
	tagRequest(span, op, tx, args, tail)
	m, err := c.counted(ctx, op, tx, args, tail)
	tracing.Finish(span, err)
	return m, err
}

// tagRequest tags a request's span with its op, its path (its first
// string) and its transaction.
func tagRequest(span opentracing.Span, op Op, tx uint32, args []string, tail []byte) {
	if span == nil {
		return
	}
	ext.Component.Set(span, "xenstore")
	ext.SpanKindRPCClient.Set(span)
	span.SetTag("xenstore.op", op.String())
	path := FirstString(tail)
	if len(args) > 0 {
		path = args[0]
	}
	if path != "" && op != OpTransactionStart && op != OpTransactionEnd {
		span.SetTag("xenstore.path", path)
	}
	if tx != 0 {
		span.SetTag("xenstore.tx", tx)
	}
}
