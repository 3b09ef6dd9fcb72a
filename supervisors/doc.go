// Package supervisors holds xenactor's supervision: the decider that maps a
// failure to a directive, the one-for-one Strategy with bounded exponential
// backoff and a give-up limit, and the Accounting of every failure that the
// metrics package exports as xenactor_supervisor_restarts_total.
//
// # Failing with a typed error
//
// An actor fails by panicking in Receive. The panic value is the reason its
// supervisor decides on; to make that decision meaningful, panic with an
// error that wraps an internal/errdefs value and the ids involved:
//
//	panic(fmt.Errorf("vbd %d: attach %s: %w", devid, path, errdefs.ErrUnavailable))
//
// Decide maps the reason: transient kinds (unavailable, timeout, busy,
// conflict, resource exhausted) restart the actor; kinds that a retry cannot
// fix (invalid, permission, not implemented, not found, exists, canceled)
// stop it; any other panic value (a runtime error, a string, an error of no
// errdefs kind) restarts it; a reason made with Escalate hands the failure
// up one level: the supervisor fails in turn and its own supervisor decides
// on the wrapped error. Deciders chained before Decide override the table,
// for every family or for one.
//
// # Families
//
// Accounting and per-family deciders work on a family: "vm", "vbd", "vif",
// "guest", "watch", ... A Strategy built WithFamily uses that family for
// every child. Otherwise the family is derived from the child's name, the
// name it was spawned with under its parent (its PID id with the parent's id
// and "/" removed), up to the first "/": "vbd/51712" is "vbd", "guest" is
// "guest". Names protoactor generates ("$1f") give UnnamedFamily, so that
// metric labels stay a small fixed set.
//
// # Where a Strategy applies
//
// In protoactor the supervisor strategy in an actor's props governs that
// actor's children, not the actor itself. Actors spawned from the root
// context are supervised by protoactor's default strategy unless their props
// carry actor.WithGuardian(strategy).
package supervisors
