package supervisors

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Defaults of a Strategy built without WithLimit.
const (
	DefaultMaxRestarts = 5
	DefaultWindow      = time.Minute
)

// UnnamedFamily is the family of a child whose name protoactor generated.
const UnnamedFamily = "unnamed"

// Strategy is a one-for-one actor.SupervisorStrategy: a failing child is
// decided on alone (see Decide and WithDecider), its siblings and its parent
// keep running. A restart waits a bounded exponential backoff (Backoff) on a
// timer while the child's mailbox stays suspended, so the supervisor's
// mailbox never blocks and messages sent to the child wait for the new
// incarnation. A child that fails with a Restart decision more than
// maxRestarts times within the window is stopped instead: the strategy gives
// up. Every failure is recorded in the Accounting under the child's family
// (WithFamily, else derived from the child's name; see the package doc).
//
// A Strategy is safe for concurrent use; one may serve many parents and
// guardians at once. Its restart window is its own, with its own clock:
// protoactor's RestartStatistics are not used.
//
// A restart still pending when the child's process is gone or replaced is
// dropped. One case the strategy cannot see: protoactor restarts an actor
// that is stopping if a restart reaches it before its own children have
// terminated, and then it never stops (nor tells its parent). A child with
// children of its own should not be stopped, directly or by stopping its
// parent, while a restart of it is pending.
type Strategy struct {
	family      string
	backoff     Backoff
	maxRestarts int
	window      time.Duration
	accounting  *Accounting
	deciders    map[string][]Decider // by family; "" is every family
	onGiveUp    func(child *actor.PID, reason any)

	// Seams for tests.
	now       func() time.Time
	rnd       func() float64
	afterFunc func(d time.Duration, f func())

	mu      sync.Mutex
	history map[childKey][]time.Time // Restart decisions within the window, by child
}

var _ actor.SupervisorStrategy = (*Strategy)(nil)

// childKey identifies a child across its incarnations.
type childKey struct{ address, id string }

// Option configures a Strategy.
type Option func(*Strategy)

// WithFamily makes every child of the strategy one family, instead of
// deriving the family from each child's name.
func WithFamily(family string) Option { return func(s *Strategy) { s.family = family } }

// WithBackoff sets the delay before restarts (default DefaultBackoff).
func WithBackoff(b Backoff) Option { return func(s *Strategy) { s.backoff = b } }

// WithLimit sets the give-up limit: a child is restarted at most
// maxRestarts times within window; the next failure within the window that
// would restart it stops it. maxRestarts <= 0 never restarts; a window <= 0
// is DefaultWindow.
func WithLimit(maxRestarts int, window time.Duration) Option {
	return func(s *Strategy) {
		s.maxRestarts = max(maxRestarts, 0)
		s.window = window
		if window <= 0 {
			s.window = DefaultWindow
		}
	}
}

// WithAccounting records failures in a, which may be shared with other
// strategies (default: an Accounting of the strategy's own).
func WithAccounting(a *Accounting) Option { return func(s *Strategy) { s.accounting = a } }

// WithDecider chains d before Decide for the children of family, or for
// every child when family is "". Family deciders are asked before the
// every-family ones, each group in the order given.
func WithDecider(family string, d Decider) Option {
	return func(s *Strategy) { s.deciders[family] = append(s.deciders[family], d) }
}

// OnGiveUp calls f whenever the strategy stops a child for good: the
// decider chose Stop, the child hit the restart limit, or it escalated with
// nowhere to escalate to. f runs on the supervisor's goroutine (for a
// guardian, the failing child's): it must be quick, must not block, and is
// typically a Send to the actor that reports the failure to the affected VM.
func OnGiveUp(f func(child *actor.PID, reason any)) Option {
	return func(s *Strategy) { s.onGiveUp = f }
}

// New returns a Strategy configured by opts.
func New(opts ...Option) *Strategy {
	s := &Strategy{
		backoff:     DefaultBackoff,
		maxRestarts: DefaultMaxRestarts,
		window:      DefaultWindow,
		deciders:    make(map[string][]Decider),
		now:         time.Now,
		rnd:         rand.Float64,
		afterFunc:   func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		history:     make(map[childKey][]time.Time),
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.accounting == nil {
		s.accounting = NewAccounting()
	}
	return s
}

// Accounting returns where the strategy records failures.
func (s *Strategy) Accounting() *Accounting { return s.accounting }

// HandleFailure implements actor.SupervisorStrategy. protoactor calls it on
// the supervisor's goroutine with the failing child's mailbox suspended.
func (s *Strategy) HandleFailure(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID,
	_ *actor.RestartStatistics, reason any, message any) {
	family := s.familyOf(supervisor, child)
	f := failure{
		key:   Key{Family: family, Reason: Kind(reason)},
		child: child.GetId(),
		text:  fmt.Sprint(reason),
		at:    s.now(),
	}
	switch directive := s.decide(family, reason); directive {
	case actor.ResumeDirective:
		f.action = ActionResume
		s.apply(system, f, child, reason, directive)
		supervisor.ResumeChildren(child)
	case actor.StopDirective:
		s.stop(system, supervisor, f, ActionStop, child, reason)
	case actor.EscalateDirective:
		if _, ok := supervisor.(interface{ Self() *actor.PID }); !ok {
			// A guardian has no parent: its EscalateFailure panics on the
			// failing child's goroutine, outside any recover.
			s.stop(system, supervisor, f, ActionGiveUp, child, reason)
			return
		}
		f.action = ActionEscalate
		s.apply(system, f, child, reason, directive)
		supervisor.EscalateFailure(escalated(reason), message)
	default: // actor.RestartDirective, and any directive protoactor does not know
		attempt, ok := s.countRestart(child, f.at)
		if !ok {
			s.stop(system, supervisor, f, ActionGiveUp, child, reason)
			return
		}
		f.action, f.delay = ActionRestart, s.backoff.Delay(attempt, s.rnd)
		s.apply(system, f, child, reason, actor.RestartDirective)
		s.restartAfter(system, supervisor, child, f.delay)
	}
}

// decide asks family's deciders, then the every-family ones, then Decide.
func (s *Strategy) decide(family string, reason any) actor.Directive {
	for _, d := range s.deciders[family] {
		if directive, ok := d(reason); ok {
			return directive
		}
	}
	return decide(s.deciders[""], reason)
}

// apply records f and publishes the decision on the event stream, as
// protoactor's own strategies do.
func (s *Strategy) apply(system *actor.ActorSystem, f failure, child *actor.PID, reason any, directive actor.Directive) {
	s.accounting.record(f)
	observeFailure(f)
	system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: directive})
}

// stop stops child for good and tells the owner.
func (s *Strategy) stop(system *actor.ActorSystem, supervisor actor.Supervisor, f failure, action Action,
	child *actor.PID, reason any) {
	s.forget(child)
	f.action = action
	s.apply(system, f, child, reason, actor.StopDirective)
	supervisor.StopChildren(child)
	if s.onGiveUp != nil {
		s.onGiveUp(child, reason)
	}
}

// restartAfter restarts child after delay, from a timer so that the
// supervisor's mailbox goes on. The restart is dropped if by then the
// system is shut down or child's process is gone or replaced (stopped by
// its parent meanwhile, or its name reused).
func (s *Strategy) restartAfter(system *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, delay time.Duration) {
	if delay <= 0 {
		supervisor.RestartChildren(child)
		return
	}
	proc, _ := system.ProcessRegistry.Get(child)
	s.afterFunc(delay, func() {
		if system.IsStopped() {
			return
		}
		if p, ok := system.ProcessRegistry.Get(child); !ok || p != proc {
			return
		}
		supervisor.RestartChildren(child)
	})
}

// countRestart records a Restart decision for child at now and returns how
// many child has had within the window (the backoff attempt), or false when
// that is more than maxRestarts.
func (s *Strategy) countRestart(child *actor.PID, now time.Time) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := now.Add(-s.window)
	for k, times := range s.history { // forget every child's expired restarts
		times = recent(times, cutoff)
		if len(times) == 0 {
			delete(s.history, k)
		} else {
			s.history[k] = times
		}
	}
	k := childKey{child.GetAddress(), child.GetId()}
	times := append(s.history[k], now)
	if len(times) > s.maxRestarts {
		delete(s.history, k)
		return len(times), false
	}
	s.history[k] = times
	return len(times), true
}

// forget drops child's restart history.
func (s *Strategy) forget(child *actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.history, childKey{child.GetAddress(), child.GetId()})
}

// recent returns the times after cutoff; times is in order.
func recent(times []time.Time, cutoff time.Time) []time.Time {
	for i, t := range times {
		if t.After(cutoff) {
			return times[i:]
		}
	}
	return nil
}

// familyOf returns child's family: the strategy's own, or the first
// "/"-separated part of the name child was spawned with.
func (s *Strategy) familyOf(supervisor actor.Supervisor, child *actor.PID) string {
	if s.family != "" {
		return s.family
	}
	name := child.GetId()
	if p, ok := supervisor.(interface{ Self() *actor.PID }); ok && p.Self() != nil {
		name = strings.TrimPrefix(name, p.Self().GetId()+"/")
	}
	return familyOfName(name)
}

// familyOfName returns the family of an actor spawned as name.
func familyOfName(name string) string {
	family, _, _ := strings.Cut(name, "/")
	if family == "" || strings.HasPrefix(family, "$") {
		return UnnamedFamily
	}
	return family
}
