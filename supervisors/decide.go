package supervisors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// ErrEscalate marks a failure that the failing actor's supervisor must not
// handle itself: Decide returns actor.EscalateDirective for a reason that
// wraps it, and the supervisor fails in turn, so that its own supervisor
// decides. Escalation goes up one level: a Strategy passes the reason up
// marked as handled, and there Decide and Kind judge it by the error it
// wraps (errors.Is(reason, ErrEscalate) stays true).
var ErrEscalate = errors.New("escalated")

// Escalate returns err marked with ErrEscalate, keeping err's own kind for
// Kind and errors.Is. Escalate(nil) escalates a failure of no kind.
func Escalate(err error) error { return &escalation{err: err} }

// escalation is an error marked for escalation, or, handled, one that has
// been escalated once.
type escalation struct {
	err     error // may be nil
	handled bool
}

func (e *escalation) Error() string {
	switch {
	case e.err == nil:
		return ErrEscalate.Error()
	case e.handled:
		return e.err.Error()
	default:
		return ErrEscalate.Error() + ": " + e.err.Error()
	}
}

func (e *escalation) Unwrap() []error {
	if e.err == nil {
		return []error{ErrEscalate}
	}
	return []error{ErrEscalate, e.err}
}

// escalating reports whether err asks for escalation: it wraps ErrEscalate
// and its outermost escalation is not handled yet.
func escalating(err error) bool {
	var e *escalation
	if errors.As(err, &e) {
		return !e.handled
	}
	return errors.Is(err, ErrEscalate)
}

// escalated returns reason as the supervisor passes it to its parent: an
// error marked handled, so that it is escalated only once.
func escalated(reason any) any {
	if err, ok := reason.(error); ok {
		return &escalation{err: err, handled: true}
	}
	return reason
}

// Reason kinds that are not an errdefs kind.
const (
	// ReasonPanic is the kind of a reason that is not an error of an errdefs
	// kind: a runtime error, a string, any other panic value.
	ReasonPanic = "panic"
	// ReasonEscalate is the kind of ErrEscalate wrapping no errdefs kind.
	ReasonEscalate = "escalate"
)

// reasons is the decision table, first match wins: the kinds a retry cannot
// fix come first, so an error that is both invalid and unavailable stops.
var reasons = []struct {
	kind      string
	is        func(error) bool
	directive actor.Directive
}{
	{"invalid", errdefs.IsInvalid, actor.StopDirective},
	{"permission", errdefs.IsPermission, actor.StopDirective},
	{"not_implemented", errdefs.IsNotImplemented, actor.StopDirective},
	{"not_found", errdefs.IsNotFound, actor.StopDirective},
	{"exists", errdefs.IsExists, actor.StopDirective},
	{"canceled", errdefs.IsCanceled, actor.StopDirective},
	{"unavailable", errdefs.IsUnavailable, actor.RestartDirective},
	{"timeout", errdefs.IsTimeout, actor.RestartDirective},
	{"busy", errdefs.IsBusy, actor.RestartDirective},
	{"conflict", errdefs.IsConflict, actor.RestartDirective},
	{"resource_exhausted", errdefs.IsResourceExhausted, actor.RestartDirective},
}

// Decide is the default decision for a failure reason (the recovered panic
// value):
//
//	wraps ErrEscalate, not yet escalated                -> Escalate
//	invalid, permission, not_implemented, not_found,
//	exists, canceled                                    -> Stop
//	unavailable, timeout, busy, conflict,
//	resource_exhausted                                  -> Restart
//	anything else (runtime error, string, other error)  -> Restart
func Decide(reason any) actor.Directive {
	err, ok := reason.(error)
	if !ok {
		return actor.RestartDirective
	}
	if escalating(err) {
		return actor.EscalateDirective
	}
	for _, r := range reasons {
		if r.is(err) {
			return r.directive
		}
	}
	return actor.RestartDirective
}

// Kind names the kind of a failure reason for accounting and metric labels:
// the errdefs kind it wraps ("invalid", "not_found", "unavailable",
// "resource_exhausted", ...; see Decide for the list), else ReasonEscalate
// when it wraps ErrEscalate, else ReasonPanic.
func Kind(reason any) string {
	err, ok := reason.(error)
	if !ok {
		return ReasonPanic
	}
	for _, r := range reasons {
		if r.is(err) {
			return r.kind
		}
	}
	if errors.Is(err, ErrEscalate) {
		return ReasonEscalate
	}
	return ReasonPanic
}

// Decider overrides Decide for the reasons it knows: it returns the
// directive and true, or false to leave the reason to the next decider.
type Decider func(reason any) (actor.Directive, bool)

// OnError returns a Decider that chooses directive for every reason that is
// an error wrapping target, and leaves the others alone.
func OnError(target error, directive actor.Directive) Decider {
	return func(reason any) (actor.Directive, bool) {
		if err, ok := reason.(error); ok && errors.Is(err, target) {
			return directive, true
		}
		return 0, false
	}
}

// Chain returns an actor.DeciderFunc that asks deciders in order and falls
// back to Decide, for use with protoactor's own strategies.
func Chain(deciders ...Decider) actor.DeciderFunc {
	return func(reason any) actor.Directive {
		return decide(deciders, reason)
	}
}

// decide asks each of deciders in order, then Decide.
func decide(deciders []Decider, reason any) actor.Directive {
	for _, d := range deciders {
		if directive, ok := d(reason); ok {
			return directive
		}
	}
	return Decide(reason)
}
