package tracing_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

// ExampleSetup sets up a tracer (here with an in-memory reporter; the
// daemon gives an agent or a collector) and starts spans under a caller's.
func ExampleSetup() {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer, err := tracing.Setup(tracing.Config{Reporter: reporter})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closer.Close()

	root := tracer.StartSpan("caller")
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	_, span := tracing.Start(ctx, "xenstore.read")
	tracing.SetTag(span, "xenstore.path", "/local/domain/1/name")
	tracing.Finish(span, fmt.Errorf("read: %w", errdefs.ErrNotFound))
	root.Finish()

	// Without a span in the context, nothing is started.
	_, none := tracing.Start(context.Background(), "xenstore.read")
	tracing.Finish(none, errors.New("ignored"))

	for _, s := range reporter.GetSpans() {
		js := s.(*jaeger.Span)
		fmt.Println(js.OperationName(), js.Tags()["error.kind"])
	}
	fmt.Println(none == nil)
	// Output:
	// xenstore.read not_found
	// caller <nil>
	// true
}
