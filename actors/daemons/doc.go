// Package daemons runs each external dom0 daemon (stunnel, QEMU,
// ovsdb-server, ...) under a supervising actor.
//
// The actor of a daemon (Props) owns one process through a
// hostio/process.Manager. When it starts, it adopts the live instance that
// the daemon's pid file names (a daemon left running by the previous
// xenactord) or starts a new one, then waits until Config.Ready answers.
// While the daemon runs, Config.Health is probed every HealthInterval.
//
// When the process exits, fails its readiness probe or its health probe,
// the actor restarts it after a bounded exponential backoff
// (supervisors.Backoff). More than MaxRestarts failures within Window make
// it give up: the state is StateFailed, and the process is left stopped
// until a Reset. Every change of state is reported through Config.Notify,
// and GetStatus answers with the current Status.
//
// Stopping the actor stops the process gracefully (SIGTERM, then SIGKILL
// after the Manager's grace period). A Detach first makes the stop leave
// the process running, for the next xenactord to adopt; a restart of the
// actor by its supervisor does the same, and the new incarnation adopts the
// process.
//
// The mailbox never waits on a process: starting, probing and stopping run
// in goroutines that report back with self-messages, each tagged with the
// process or the timer it concerns so that late reports are ignored. The
// only exception is the graceful stop when the actor itself stops, which is
// bounded by the Manager's grace period.
package daemons
