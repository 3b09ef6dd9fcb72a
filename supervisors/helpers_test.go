package supervisors

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/actortest"
)

// newSystem returns an actor system for one test, with protoactor's logging
// silenced.
func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	system := actortest.System(t)
	return system
}

// probe watches one test actor from the outside: lifecycle counts, start
// times, and the children its actor saw terminate.
type probe struct {
	starts     atomic.Int32
	restarts   atomic.Int32
	stops      atomic.Int32
	mu         sync.Mutex
	startedAt  []time.Time
	terminated []string
}

func (p *probe) started() {
	p.starts.Add(1)
	p.mu.Lock()
	p.startedAt = append(p.startedAt, time.Now())
	p.mu.Unlock()
}

func (p *probe) lastStart() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startedAt[len(p.startedAt)-1]
}

func (p *probe) sawTerminated(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.terminated {
		if t == id {
			return true
		}
	}
	return false
}

// Messages of the test actor.
type (
	ping  struct{}
	pong  struct{ starts int32 }
	fail  struct{ reason any }
	spawn struct {
		name  string
		props *actor.Props
	}
)

// testActor answers ping, panics on fail, and spawns children on request.
type testActor struct{ p *probe }

func (a *testActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.p.started()
	case *actor.Restarting:
		a.p.restarts.Add(1)
	case *actor.Stopped:
		a.p.stops.Add(1)
	case *actor.Terminated:
		a.p.mu.Lock()
		a.p.terminated = append(a.p.terminated, msg.Who.GetId())
		a.p.mu.Unlock()
	case ping:
		ctx.Respond(pong{starts: a.p.starts.Load()})
	case fail:
		panic(msg.reason)
	case spawn:
		pid, err := ctx.SpawnNamed(msg.props, msg.name)
		if err != nil {
			panic(err)
		}
		ctx.Respond(pid)
	}
}

// props returns the props of a test actor reporting to p, with opts.
func props(p *probe, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &testActor{p: p} }, opts...)
}

// request sends msg to pid and returns the reply.
func request(t *testing.T, system *actor.ActorSystem, pid *actor.PID, msg any) any {
	t.Helper()
	reply, err := system.Root.RequestFuture(pid, msg, 2*time.Second).Result()
	require.NoError(t, err)
	return reply
}

// spawnChild asks parent to spawn a test actor named name.
func spawnChild(t *testing.T, system *actor.ActorSystem, parent *actor.PID, name string, p *probe,
	opts ...actor.PropsOption) *actor.PID {
	t.Helper()
	pid, ok := request(t, system, parent, spawn{name: name, props: props(p, opts...)}).(*actor.PID)
	require.True(t, ok)
	return pid
}

// fakeSupervisor records what a strategy asks of it.
type fakeSupervisor struct {
	mu        sync.Mutex
	restarted []*actor.PID
	stopped   []*actor.PID
	resumed   []*actor.PID
	escalated []any
}

var _ actor.Supervisor = (*fakeSupervisor)(nil)

func (f *fakeSupervisor) Children() []*actor.PID { return nil }

func (f *fakeSupervisor) EscalateFailure(reason any, _ any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.escalated = append(f.escalated, reason)
}

func (f *fakeSupervisor) RestartChildren(pids ...*actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarted = append(f.restarted, pids...)
}

func (f *fakeSupervisor) StopChildren(pids ...*actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, pids...)
}

func (f *fakeSupervisor) ResumeChildren(pids ...*actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = append(f.resumed, pids...)
}

// parentSupervisor is a fakeSupervisor that is an actor with a PID, so a
// strategy may escalate to it and strips its id from child names.
type parentSupervisor struct {
	fakeSupervisor
	self *actor.PID
}

func (p *parentSupervisor) Self() *actor.PID { return p.self }

// fakeClock is a settable clock and a timer queue run by hand.
type fakeClock struct {
	now    time.Time
	delays []time.Duration
	timers []func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) install(s *Strategy) {
	s.now = func() time.Time { return c.now }
	s.afterFunc = func(d time.Duration, f func()) {
		c.delays = append(c.delays, d)
		c.timers = append(c.timers, f)
	}
}

// fire runs the timers queued so far.
func (c *fakeClock) fire() {
	timers := c.timers
	c.timers = nil
	for _, f := range timers {
		f()
	}
}
