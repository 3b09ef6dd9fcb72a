// Package client is the Go client of the xenactord API.
//
// It has two layers:
//
//   - the transport, a Caller: it sends one *messages.Request and returns
//     its *messages.Response. InProcess is the transport to an api actor in
//     the same process (tests, and the in-process baseline of benchmarks); a
//     network transport implements the same interface;
//   - the typed client, Client, built on any Caller with New: one method per
//     op of the API, taking and returning the wire types of package
//     messages. A failed call returns an *Error carrying the daemon's errdefs
//     kind, so errdefs.IsNotFound and the like work on it. The calls that
//     start an operation return a *Task, whose Wait follows the operation to
//     its end.
//
// The typed client puts the span of the caller's context, if any, into the
// request (Request.trace) with the global OpenTracing tracer, so the daemon's
// spans join the caller's trace.
package client
