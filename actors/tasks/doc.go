// Package tasks is the task registry: xenopsd's tasks.
//
// Every operation the toolstack accepts returns a task id at once and runs on;
// the task is Pending, with a progress between 0 and 1, until the operation
// completes it with a result or fails it with an error. Clients read tasks
// (Get, List), wait for them (Wait) and destroy them once they have read the
// outcome (Destroy).
//
// # Cancelling
//
// CancelTask calls the cancel function the operation registered with
// CreateTask, exactly once, and marks the task Cancelling. The operation then
// unwinds, leaving the system in a valid state, and fails the task with an
// error wrapping errdefs.ErrCanceled (or completes it, if it was too late to
// stop). There is no separate Cancelled state: like xenopsd, a cancelled task
// ends Failed. If the operation has not finished the task within the cancel
// grace (30 s, the reference's bound) the registry fails it itself, so a
// client waiting on a cancel is never left hanging.
//
// # Interrupted tasks
//
// The registry lives in memory. When the daemon restarts it re-creates the
// tasks that were in flight from its state directory (CreateTask with their
// ID), lets the operations it can resume re-adopt them, and then sends
// FailInterrupted: every task still pending fails with the given reason,
// wrapping errdefs.ErrUnavailable, so no client waits on a task no one runs.
//
// # Bounds
//
// Finished tasks stay until a client destroys them, but at most
// DefaultMaxFinished (WithMaxFinished) are kept: past that the oldest finished
// task is destroyed, so a client that never destroys cannot grow memory
// without bound.
//
// # Updates
//
// WithEvents names the update-stream actor (package events): every change of a
// task is announced there as "task/<id>", and a destroyed task as removed.
package tasks
