// Package tracing sets up the daemon's OpenTracing tracer (the Jaeger client,
// exporting to a Jaeger agent over UDP or to a collector over HTTP) and
// holds the helpers the instrumented code starts its spans with.
//
// Tracing is off unless configured: the global tracer stays
// opentracing.NoopTracer and Start, on a context that carries no span,
// allocates nothing. Spans are only ever children of a span the caller put
// in the context, except an operation's span (StartOperation), which may be
// a trace's root when tracing is on.
//
// Span contexts cross actor messages in the message envelope's header
// (Inject, Extract), in the tracer's TextMap format.
package tracing
