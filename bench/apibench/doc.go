// Package apibench measures the xenactord API as its clients see it: stat
// round trips (StatVM of a running VM for a fixed time) and VM operations
// (create, start, hard shutdown, remove, each awaited) with N concurrent
// clients, over the network and in process, in the same run.
//
// The network path starts a real xenactord (Options.Xenactord) with its API
// on 127.0.0.1 and drives it from worker processes, one API connection each:
// protoactor's remote layer keeps process-wide state, so N network clients
// are N processes. A worker is this program re-executed (Options.Worker,
// `xenactor-bench api-worker`), talking to the benchmark over its stdin and
// stdout (WorkerMain). The in-process path drives the same daemon started in
// the benchmark's process through client.InProcess (Options.InProcess), one
// goroutine per client. Both paths run the same client code (RunPhase).
//
// The report (Report) has one row per scenario, path and client count: ops
// per second, latency percentiles and errors by kind, and on each network
// row the ratio of its throughput to the in-process row's.
package apibench
