package supervisors

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// These tests call HandleFailure directly, with a fake supervisor and a
// fake clock, and a real registered actor as the child.

// child spawns an idle actor named name from the root, for a child PID
// that the process registry knows.
func child(t *testing.T, system *actor.ActorSystem, name string) *actor.PID {
	t.Helper()
	pid, err := system.Root.SpawnNamed(props(&probe{}), name)
	require.NoError(t, err)
	return pid
}

func TestStrategy_BackoffGrowsAndResetsAfterWindow(t *testing.T) {
	system := newSystem(t)
	clock := newFakeClock()
	s := New(WithBackoff(Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}),
		WithLimit(10, time.Minute))
	clock.install(s)
	sup := &fakeSupervisor{}
	vbd := child(t, system, "vbd/51712")

	for range 5 {
		s.HandleFailure(system, sup, vbd, nil, "boom", nil)
		clock.now = clock.now.Add(time.Second)
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{10 * ms, 20 * ms, 40 * ms, 50 * ms, 50 * ms}, clock.delays)
	assert.Empty(t, sup.restarted, "restarts wait for their timers")
	clock.fire()
	assert.Len(t, sup.restarted, 5)

	clock.now = clock.now.Add(time.Minute)
	s.HandleFailure(system, sup, vbd, nil, "boom", nil)
	assert.Equal(t, 10*ms, clock.delays[5], "earlier failures left the window")
	assert.Equal(t, 6, s.Accounting().Snapshot()[0].Restarts)
}

func TestStrategy_GivesUpPastTheLimit(t *testing.T) {
	system := newSystem(t)
	clock := newFakeClock()
	var gaveUp []any
	s := New(WithLimit(2, time.Minute), OnGiveUp(func(_ *actor.PID, reason any) { gaveUp = append(gaveUp, reason) }))
	clock.install(s)
	sup := &fakeSupervisor{}
	vif := child(t, system, "vif/0")

	for i := range 3 {
		s.HandleFailure(system, sup, vif, nil, fmt.Sprint("boom ", i), nil)
	}
	assert.Len(t, clock.delays, 2)
	assert.Equal(t, []*actor.PID{vif}, sup.stopped)
	assert.Equal(t, []any{"boom 2"}, gaveUp)
	assert.Equal(t, []RestartRecord{{Key: Key{"vif", ReasonPanic}, Failures: 3, Restarts: 2, GiveUps: 1,
		LastText: "boom 2", LastChild: "vif/0", LastAction: ActionGiveUp, LastDelay: clock.delays[1], LastAt: clock.now}},
		s.Accounting().Snapshot())

	// Giving up forgets the child: a new child of the same name starts afresh.
	s.HandleFailure(system, sup, vif, nil, "boom", nil)
	assert.Len(t, clock.delays, 3)
}

func TestStrategy_ZeroRestartsGivesUpAtOnce(t *testing.T) {
	system := newSystem(t)
	s := New(WithLimit(0, time.Minute))
	sup := &fakeSupervisor{}
	vm := child(t, system, "vm/1")
	s.HandleFailure(system, sup, vm, nil, "boom", nil)
	assert.Equal(t, []*actor.PID{vm}, sup.stopped)
	assert.Empty(t, sup.restarted)
}

func TestStrategy_DeciderOverridesByFamily(t *testing.T) {
	system := newSystem(t)
	clock := newFakeClock()
	s := New(
		WithDecider("vbd", OnError(errdefs.ErrNotFound, actor.RestartDirective)),
		WithDecider("", OnError(errdefs.ErrBusy, actor.ResumeDirective)),
		WithDecider("vbd", OnError(errdefs.ErrBusy, actor.StopDirective)),
	)
	clock.install(s)
	sup := &fakeSupervisor{}
	vbd, vif := child(t, system, "vbd/1"), child(t, system, "vif/1")
	notFound := fmt.Errorf("backend: %w", errdefs.ErrNotFound)

	s.HandleFailure(system, sup, vbd, nil, notFound, nil)
	s.HandleFailure(system, sup, vif, nil, notFound, nil)
	assert.Len(t, clock.delays, 1, "vbd restarts on not found")
	assert.Equal(t, []*actor.PID{vif}, sup.stopped, "vif stops, by the default table")

	s.HandleFailure(system, sup, vif, nil, errdefs.ErrBusy, nil)
	s.HandleFailure(system, sup, vbd, nil, errdefs.ErrBusy, nil)
	assert.Equal(t, []*actor.PID{vif}, sup.resumed, "every-family decider")
	assert.Equal(t, []*actor.PID{vif, vbd}, sup.stopped, "family deciders come first")
	assert.Equal(t, 1, s.Accounting().Snapshot()[2].Resumes)
}

func TestStrategy_EscalatesToAParentOnly(t *testing.T) {
	system := newSystem(t)
	var gaveUp []*actor.PID
	s := New(OnGiveUp(func(c *actor.PID, _ any) { gaveUp = append(gaveUp, c) }))
	reason := Escalate(errdefs.ErrUnavailable)

	parent := &parentSupervisor{self: actor.NewPID("nonhost", "vm/1")}
	vbd := child(t, system, "vm/1/vbd/1")
	s.HandleFailure(system, parent, vbd, nil, reason, nil)
	require.Len(t, parent.escalated, 1)
	up := parent.escalated[0].(error)
	assert.Equal(t, reason.Error(), up.Error())
	assert.Equal(t, actor.RestartDirective, Decide(up), "the parent's supervisor decides on the error itself")
	assert.Empty(t, parent.stopped)

	guardian := &fakeSupervisor{} // no Self: a guardian, with nowhere to escalate to
	watch := child(t, system, "watch/7")
	s.HandleFailure(system, guardian, watch, nil, reason, nil)
	assert.Equal(t, []*actor.PID{watch}, guardian.stopped)
	assert.Equal(t, []*actor.PID{watch}, gaveUp)

	assert.Equal(t, map[Key]int{{"vbd", "unavailable"}: 1, {"watch", "unavailable"}: 1}, s.Accounting().Counts())
}

func TestStrategy_DropsRestartOfAStoppedChild(t *testing.T) {
	system := newSystem(t)
	clock := newFakeClock()
	s := New()
	clock.install(s)
	sup := &fakeSupervisor{}
	vbd := child(t, system, "vbd/1")

	s.HandleFailure(system, sup, vbd, nil, "boom", nil)
	require.NoError(t, system.Root.StopFuture(vbd).Wait())
	clock.fire()
	assert.Empty(t, sup.restarted, "stopped during the backoff")

	// The name is reused by a new actor before the timer fires.
	vbd = child(t, system, "vbd/2")
	s.HandleFailure(system, sup, vbd, nil, "boom", nil)
	require.NoError(t, system.Root.StopFuture(vbd).Wait())
	child(t, system, "vbd/2")
	clock.fire()
	assert.Empty(t, sup.restarted, "replaced during the backoff")
}

func TestStrategy_WithFamily(t *testing.T) {
	system := newSystem(t)
	s := New(WithFamily("guest"), WithBackoff(Backoff{}))
	s.HandleFailure(system, &fakeSupervisor{}, child(t, system, "vbd/1"), nil, errors.New("x"), nil)
	assert.Equal(t, map[Key]int{{"guest", ReasonPanic}: 1}, s.Accounting().Counts())
}

func TestFamilyOf(t *testing.T) {
	s := New()
	parent := &parentSupervisor{self: actor.NewPID("nonhost", "host/domains")}
	for _, tc := range []struct {
		sup  actor.Supervisor
		id   string
		want string
	}{
		{parent, "host/domains/vm/0f1e", "vm"},
		{parent, "host/domains/guest", "guest"},
		{parent, "host/domains/$1f", UnnamedFamily},
		{parent, "host/domains/vbd/$2", "vbd"},
		{&fakeSupervisor{}, "watch/7", "watch"},
		{&fakeSupervisor{}, "$3", UnnamedFamily},
		{&fakeSupervisor{}, "", UnnamedFamily},
	} {
		assert.Equal(t, tc.want, s.familyOf(tc.sup, actor.NewPID("nonhost", tc.id)), tc.id)
	}
}
