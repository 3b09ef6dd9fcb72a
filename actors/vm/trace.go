package vm

import (
	"context"

	"github.com/opentracing/opentracing-go"

	"github.com/xenactor/xenactor/internal/tracing"
)

// atom runs f, one step of an operation, under the span "atom.<name>", a
// child of the operation's span in ctx (no span when ctx has none).
func atom(ctx context.Context, name string, f func(context.Context) error) error {
	if !tracing.Active(ctx) {
		return f(ctx)
	}
	ctx, span := tracing.Start(ctx, "atom."+name)
	err := f(ctx)
	tracing.Finish(span, err)
	return err
}

// startOpSpan starts op's span, named after its kind (VM.start), a child
// of the span the request carried, and returns op's context carrying it.
// An internal operation (a state check) gets a span only when a request's
// span asked for it.
func (a *vmActor) startOpSpan(op *operation) (context.Context, opentracing.Span) {
	if op.internal && op.trace == nil {
		return op.ctx, nil
	}
	ctx, span := tracing.StartOperation(op.ctx, op.trace, op.kind)
	if span != nil {
		span.SetTag("vm", a.cfg.Spec.UUID)
		span.SetTag("task", op.taskID)
		span.SetTag("kind", op.kind)
	}
	return ctx, span
}

// finishOpSpan ends op's span with the operation's outcome.
func finishOpSpan(span opentracing.Span, done *opDone) {
	if span == nil {
		return
	}
	if done.panicked {
		span.SetTag("panicked", true)
	}
	tracing.Finish(span, done.err)
}
