// Package process starts, supervises and stops the dom0 daemons xenactor
// runs (stunnel, QEMU, ovsdb-server, ...) as operating-system processes.
//
// A Manager owns a run directory:
//
//	<run>/<name>.pid        the pid file of daemon <name> (a JSON record)
//	<run>/log/<name>.log    the daemon's stdout and stderr, appended
//
// Start runs a Spec in its own session, with the log file as its stdout and
// stderr, so it survives the exit of xenactord and never writes into a pipe
// that xenactord holds. The pid file records the pid, the process's start
// time (field 22 of /proc/<pid>/stat), the resolved executable and the
// arguments.
//
// A Proc reports the exit of its process on Done, without polling: a child
// of this process is waited for with os/exec, and an adopted process through
// a pidfd (pidfd_open(2)) that the Go runtime's poller watches. Stop sends
// SIGTERM, then SIGKILL after a grace period, and removes the pid file.
// Signals to adopted processes go through the pidfd, so they never reach a
// process that reused the pid.
//
// Adopt re-attaches to a daemon that a previous xenactord started: the pid
// file must name a live process with the recorded start time, running the
// Spec's executable with the Spec's arguments. A stale or foreign pid file
// is removed and reported as errdefs.ErrNotFound; its pid is never
// signalled.
package process
