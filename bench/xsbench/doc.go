// Package xsbench measures xenstore daemons through the project's client
// (hostio/xenstore), so that the project's xenstored and Debian's C
// xenstored are driven by exactly the same load generator.
//
// Scenarios take a Dialer and a config and return a Result: operations
// completed, wall time, operations per second, latency percentiles from
// every operation's recorded duration, and errors.
//
//   - Pairs: C connections, each shared by G goroutines (the client
//     multiplexes by req_id); one operation is a WRITE of a key private to
//     the goroutine followed by a READ of it.
//   - Txn: read-modify-write transactions through Client.Update, either
//     each worker on its own key (no conflicts) or all workers on one shared
//     counter (conflicts, retried on EAGAIN); the counters are checked
//     exactly at the end.
//   - WatchDelivery: N unrelated watches spread over several connections,
//     then the time from a WRITE of /bench/hot until the one watcher on it
//     receives the event.
//
// Suite runs a list of measurements against two Targets (ours and the C
// daemon), alternating which goes first, and builds a Report that prints an
// aligned table or JSON. cmd/xenactor-bench wires it to flags; the Go
// benchmarks in this package run the same scenarios under `go test -bench`.
//
// Speed targets are never asserted: they are reported.
package xsbench
