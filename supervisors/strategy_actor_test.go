package supervisors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// These tests run real actor systems: a parent supervising its children
// with a Strategy.

const (
	waitFor = 2 * time.Second
	tick    = 2 * time.Millisecond
)

// fastBackoff keeps actor tests quick.
var fastBackoff = Backoff{Base: time.Millisecond, Max: 4 * time.Millisecond}

// spawnParent spawns a test actor from the root that supervises its
// children with s.
func spawnParent(t *testing.T, system *actor.ActorSystem, name string, p *probe, s *Strategy) *actor.PID {
	t.Helper()
	pid, err := system.Root.SpawnNamed(props(p, actor.WithSupervisor(s)), name)
	require.NoError(t, err)
	return pid
}

func TestStrategy_Actor_PanicRestartsOnlyTheChild(t *testing.T) {
	system := newSystem(t)
	s := New(WithBackoff(fastBackoff))
	var parentProbe, failing, sibling probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)
	vbd := spawnChild(t, system, vm, "vbd/51712", &failing)
	vif := spawnChild(t, system, vm, "vif/0", &sibling)

	system.Root.Send(vbd, fail{reason: "boom"})
	assert.Equal(t, pong{starts: 2}, request(t, system, vbd, ping{}), "answers again, as a new incarnation")
	assert.EqualValues(t, 1, failing.restarts.Load())

	assert.Equal(t, pong{starts: 1}, request(t, system, vif, ping{}))
	assert.Equal(t, pong{starts: 1}, request(t, system, vm, ping{}))
	assert.Zero(t, sibling.restarts.Load()+parentProbe.restarts.Load())
	assert.Zero(t, sibling.stops.Load()+parentProbe.stops.Load())
	assert.Equal(t, map[Key]int{{"vbd", ReasonPanic}: 1}, s.Accounting().Counts())
	rec := s.Accounting().Snapshot()[0]
	assert.Equal(t, "vm/1/vbd/51712", rec.LastChild)
	assert.Equal(t, "boom", rec.LastText)
	assert.Equal(t, ActionRestart, rec.LastAction)
}

func TestStrategy_Actor_InvalidStopsTheChild(t *testing.T) {
	system := newSystem(t)
	type gaveUp struct {
		child  *actor.PID
		reason any
	}
	gaveUpCh := make(chan gaveUp, 1)
	s := New(WithBackoff(fastBackoff), OnGiveUp(func(c *actor.PID, r any) { gaveUpCh <- gaveUp{c, r} }))
	var parentProbe, failing probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)
	vbd := spawnChild(t, system, vm, "vbd/51712", &failing)

	reason := fmt.Errorf("vbd 51712: bad params: %w", errdefs.ErrInvalid)
	system.Root.Send(vbd, fail{reason: reason})
	select {
	case g := <-gaveUpCh:
		assert.Equal(t, vbd.GetId(), g.child.GetId())
		assert.Equal(t, reason, g.reason)
	case <-time.After(waitFor):
		t.Fatal("OnGiveUp not called")
	}
	require.Eventually(t, func() bool { return parentProbe.sawTerminated(vbd.GetId()) }, waitFor, tick)
	assert.Zero(t, failing.restarts.Load(), "never restarted")
	assert.EqualValues(t, 1, failing.starts.Load())
	assert.EqualValues(t, 1, failing.stops.Load())
	assert.Equal(t, pong{starts: 1}, request(t, system, vm, ping{}))
	assert.Equal(t, 1, s.Accounting().Snapshot()[0].Stops)
}

func TestStrategy_Actor_RestartWaitsAtLeastTheBase(t *testing.T) {
	system := newSystem(t)
	const base = 40 * time.Millisecond
	s := New(WithBackoff(Backoff{Base: base, Max: time.Second, Jitter: 1}))
	var parentProbe, failing probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)
	guest := spawnChild(t, system, vm, "guest", &failing)

	sent := time.Now()
	system.Root.Send(guest, fail{reason: fmt.Errorf("agent: %w", errdefs.ErrTimeout)})
	// The parent answers while the child waits out its backoff.
	assert.Equal(t, pong{starts: 1}, request(t, system, vm, ping{}))
	assert.Equal(t, pong{starts: 2}, request(t, system, guest, ping{}))
	assert.GreaterOrEqual(t, failing.lastStart().Sub(sent), base)
	assert.Equal(t, map[Key]int{{"guest", "timeout"}: 1}, s.Accounting().Counts())
}

func TestStrategy_Actor_GivesUpAfterTheLimit(t *testing.T) {
	system := newSystem(t)
	gaveUp := make(chan *actor.PID, 1)
	s := New(WithBackoff(fastBackoff), WithLimit(2, time.Minute),
		OnGiveUp(func(c *actor.PID, _ any) { gaveUp <- c }))
	var parentProbe, failing probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)
	vif := spawnChild(t, system, vm, "vif/0", &failing)

	// Messages wait in the suspended mailbox: each incarnation fails on the next.
	for i := range 3 {
		system.Root.Send(vif, fail{reason: fmt.Errorf("bridge %d: %w", i, errdefs.ErrUnavailable)})
	}
	select {
	case c := <-gaveUp:
		assert.Equal(t, vif.GetId(), c.GetId())
	case <-time.After(waitFor):
		t.Fatal("OnGiveUp not called")
	}
	require.Eventually(t, func() bool { return parentProbe.sawTerminated(vif.GetId()) }, waitFor, tick)
	assert.EqualValues(t, 2, failing.restarts.Load())
	assert.EqualValues(t, 3, failing.starts.Load())
	rec := s.Accounting().Snapshot()[0]
	assert.Equal(t, Key{"vif", "unavailable"}, rec.Key)
	assert.Equal(t, 3, rec.Failures)
	assert.Equal(t, 2, rec.Restarts)
	assert.Equal(t, 1, rec.GiveUps)
	assert.Equal(t, "bridge 2: unavailable", rec.LastText)
}

func TestStrategy_Actor_ConcurrentFailuresAreCounted(t *testing.T) {
	system := newSystem(t)
	acct := NewAccounting()
	s := New(WithBackoff(Backoff{}), WithLimit(1000, time.Minute), WithAccounting(acct))
	// A guardian strategy of its own, sharing the accounting: its
	// HandleFailure runs on the failing children's goroutines, concurrently.
	guardian := New(WithBackoff(fastBackoff), WithLimit(1000, time.Minute), WithAccounting(acct))
	var parentProbe probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)

	const children, failures = 6, 10
	var pids []*actor.PID
	var reasons []any
	for i := range children {
		pids = append(pids,
			spawnChild(t, system, vm, fmt.Sprint("vbd/", i), &probe{}),
			spawnChild(t, system, vm, fmt.Sprint("vif/", i), &probe{}))
		w, err := system.Root.SpawnNamed(props(&probe{}, actor.WithGuardian(guardian)), fmt.Sprint("watch/", i))
		require.NoError(t, err)
		pids = append(pids, w)
		reasons = append(reasons, errdefs.ErrBusy, "boom", fmt.Errorf("watch: %w", errdefs.ErrConflict))
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // a metrics scrape, racing the failures
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = acct.Counts(), acct.Snapshot()
			}
		}
	}()
	var senders sync.WaitGroup
	for i, pid := range pids {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for range failures {
				system.Root.Send(pid, fail{reason: reasons[i]})
			}
		}()
	}
	senders.Wait()
	want := map[Key]int{
		{"vbd", "busy"}:       children * failures,
		{"vif", ReasonPanic}:  children * failures,
		{"watch", "conflict"}: children * failures,
	}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, acct.Counts()) }, waitFor, tick,
		"counts %v", acct.Counts())
	close(stop)
	wg.Wait()
	for _, pid := range pids {
		assert.Equal(t, pong{starts: failures + 1}, request(t, system, pid, ping{}))
	}
	for _, rec := range acct.Snapshot() {
		assert.Equal(t, children*failures, rec.Restarts, rec.Key)
	}
}

func TestStrategy_Actor_EscalateReachesTheParentsSupervisor(t *testing.T) {
	system := newSystem(t)
	hostStrategy := New(WithBackoff(fastBackoff))
	vmStrategy := New(WithBackoff(fastBackoff))
	var hostProbe, vmProbe, vbdProbe probe
	host := spawnParent(t, system, "host", &hostProbe, hostStrategy)
	vm := spawnChild(t, system, host, "vm/1", &vmProbe, actor.WithSupervisor(vmStrategy))
	vbd := spawnChild(t, system, vm, "vbd/51712", &vbdProbe)

	system.Root.Send(vbd, fail{reason: Escalate(fmt.Errorf("vbd 51712: %w", errdefs.ErrUnavailable))})
	require.Eventually(t, func() bool { return vmProbe.restarts.Load() == 1 }, waitFor, tick)
	assert.Equal(t, pong{starts: 2}, request(t, system, vm, ping{}), "the host restarted the vm")
	require.Eventually(t, func() bool { return vbdProbe.stops.Load() == 1 }, waitFor, tick,
		"restarting the vm stops its children")
	assert.Zero(t, vbdProbe.restarts.Load())
	assert.Equal(t, pong{starts: 1}, request(t, system, host, ping{}))
	assert.Zero(t, hostProbe.restarts.Load())

	vmRec := vmStrategy.Accounting().Snapshot()
	require.Len(t, vmRec, 1)
	assert.Equal(t, Key{"vbd", "unavailable"}, vmRec[0].Key)
	assert.Equal(t, 1, vmRec[0].Escalations)
	hostRec := hostStrategy.Accounting().Snapshot()
	require.Len(t, hostRec, 1)
	assert.Equal(t, Key{"vm", "unavailable"}, hostRec[0].Key)
	assert.Equal(t, 1, hostRec[0].Restarts)
	assert.Equal(t, "host/vm/1", hostRec[0].LastChild)
}

func TestStrategy_Actor_EscalateFromAGuardianChildStopsIt(t *testing.T) {
	system := newSystem(t)
	gaveUp := make(chan *actor.PID, 1)
	s := New(OnGiveUp(func(c *actor.PID, _ any) { gaveUp <- c }))
	var p probe
	watch, err := system.Root.SpawnNamed(props(&p, actor.WithGuardian(s)), "watch/domains")
	require.NoError(t, err)

	system.Root.Send(watch, fail{reason: Escalate(nil)})
	select {
	case c := <-gaveUp:
		assert.Equal(t, watch.GetId(), c.GetId())
	case <-time.After(waitFor):
		t.Fatal("OnGiveUp not called")
	}
	require.Eventually(t, func() bool { return p.stops.Load() == 1 }, waitFor, tick)
	assert.Equal(t, map[Key]int{{"watch", ReasonEscalate}: 1}, s.Accounting().Counts())
}
