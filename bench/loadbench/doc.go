// Package loadbench drives a running xenactord through its public client,
// like a user, and measures it under load: a boot storm over the API
// (ScenarioStorm), lifecycle churn (ScenarioChurn), a guest report flood
// (ScenarioGuests), device hot-plug churn (ScenarioHotplug) and the scaling
// run (ScenarioScale: start latency and daemon memory at each number of
// running VMs).
//
// Run starts its own xenactord (optionally on a separate xenactor-simhost)
// unless Config.Config names the client.json of a running one. The clients
// run in worker processes (Options.Worker, `xenactor-bench load-worker`),
// one API connection each (Config.Conns), each running Config.Concurrency
// goroutines divided among them over that connection: protoactor's remote
// layer keeps process-wide state, so a connection is a process. The
// benchmark itself never connects; it reads the daemon's CPU time and
// memory from /proc and its guest counters from /metrics.
//
// The Report has throughput and latency percentiles per operation kind,
// errors by kind, the processes' CPU seconds and peak RSS, the memory per
// running VM, and the samples the plots (WritePlots, an SVG writer of its
// own) are drawn from.
package loadbench
