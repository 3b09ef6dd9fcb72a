// Package evacbench measures the evacuation of a pool host: etcd and a
// pool of real xenactord processes on loopback, N running VMs on the host
// to evacuate, then PoolEvacuate of that host with each batch size, the
// VMs migrated back between runs. It reports the evacuation's total time,
// VMs per second, the per-VM migration time and downtime (from the
// VM.migrate tasks on the evacuated host), errors by kind, and where each
// VM ended; it checks that every VM runs on another host exactly once and
// that the evacuated host keeps none.
//
// The client is a worker process (Options.Worker, `xenactor-bench
// evac-worker`) with one API connection to the evacuated host, which
// routes the calls of the other hosts: protoactor's remote layer keeps
// process-wide state, so the benchmark's process holds no connection.
// `xenactor-bench evacuate` runs it; see docs/benchmarks.md.
//
// On the same pool, RunStorm runs a migration storm (`xenactor-bench
// migstorm`, StormConfig): VMs spread over the hosts are migrated back and
// forth by host name (MigrateVMToHost), Concurrency at a time, for a
// Duration. The StormReport has the migrations per second, their latency
// and downtime percentiles, errors by kind, each daemon's CPU seconds
// during the storm and its memory, every migration as a sample, and the
// plots; every VM must run once, where its last migration put it.
package evacbench
