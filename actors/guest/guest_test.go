package guest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/supervisors"
)

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	system := actortest.System(t)
	return system
}

// spawn starts a guest actor and returns its client.
func spawn(t *testing.T, cfg guest.Config, opts ...guest.Option) guest.Client {
	t.Helper()
	system := newSystem(t)
	pid := system.Root.Spawn(guest.Props(cfg, opts...))
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	return guest.NewClient(system, pid)
}

// stats returns c's stats, or zero if the actor does not answer. Like
// metrics, it is called from the goroutines of require.Eventually, so it
// neither fails the test nor uses t.Context.
func stats(_ *testing.T, c guest.Client) guest.Stats {
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	s, _ := c.Stats(ctx)
	return s
}

func metrics(_ *testing.T, c guest.Client) guest.GuestMetrics {
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	m, _ := c.Metrics(ctx)
	return m
}

func TestGuestActor_SimLinux(t *testing.T) {
	e := newSimEnv(t)
	domid := e.boot(t, "sim:linux,agent=50ms")
	n := &notifier{}
	c := spawn(t, guest.Config{XS: e.xs, DomID: domid, VMUUID: "7f3a", Notifier: n}, guest.WithMinInterval(10*time.Millisecond))
	require.Eventually(t, func() bool {
		c.Refresh()
		m := metrics(t, c)
		return m.OS.Name != "" && len(m.Networks[0].IPv4) > 0
	}, eventually, tick)
	m := metrics(t, c)
	assert.Equal(t, fmt.Sprintf("10.%d.%d.2", domid>>8&0xff, domid&0xff), m.Networks[0].IPv4[0])
	assert.True(t, m.Features.Balloon)
	assert.False(t, m.LastChange.IsZero())
	assert.GreaterOrEqual(t, n.count(), 1)
	n.mu.Lock()
	assert.Equal(t, "vm/7f3a", n.ids[0])
	n.mu.Unlock()
}

// memKV is a small guest home in a memStore.
func memKV(domid uint32) map[string]string {
	h := home(domid)
	return map[string]string{
		h + "/control/feature-balloon": "1",
		h + "/memory/target":           "1024",
		h + "/data/os_name":            "start",
		h + "/data/updated":            "1",
	}
}

func TestGuestActor_AnnouncesOnlyChanges(t *testing.T) {
	s := newMemStore(memKV(4))
	n := &notifier{}
	c := spawn(t, guest.Config{XS: s, DomID: 4, VMUUID: "u", Notifier: n}, guest.WithMinInterval(0))
	require.Eventually(t, func() bool { return stats(t, c).Changes == 1 }, eventually, tick)
	assert.Equal(t, 1, n.count())
	first := metrics(t, c)

	c.Refresh() // nothing changed
	require.Eventually(t, func() bool { st := stats(t, c); return st.Reads == 2 && metrics(t, c).Updated.After(first.Updated) }, eventually, tick)
	assert.Equal(t, 1, n.count())
	assert.Equal(t, first.LastChange, metrics(t, c).LastChange)

	s.set(home(4)+"/data/os_name", "changed")
	c.Refresh()
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "changed" }, eventually, tick)
	assert.Equal(t, 2, n.count())
	assert.Equal(t, uint64(2), stats(t, c).Changes)
}

func TestGuestActor_CoalescesRefreshesDuringARead(t *testing.T) {
	s := newMemStore(memKV(5))
	gate := make(chan struct{})
	s.setGate(gate)
	c := spawn(t, guest.Config{XS: s, DomID: 5, VMUUID: "u"}, guest.WithMinInterval(0))
	require.Eventually(t, func() bool { return s.walks.Load() == 1 }, eventually, tick) // the first read, held
	for i := range 1000 {
		s.set(home(5)+"/data/os_name", fmt.Sprint("v", i))
		c.Refresh()
	}
	close(gate)
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "v999" }, eventually, tick)
	assert.Never(t, func() bool { return stats(t, c).Reads > 2 }, 100*time.Millisecond, tick)
	assert.Equal(t, uint64(2), stats(t, c).Reads)
	assert.Equal(t, int64(1), s.maxIn.Load(), "reads in flight at once")
}

func TestGuestActor_RateLimitKeepsTheLastRefresh(t *testing.T) {
	const interval = 100 * time.Millisecond
	s := newMemStore(memKV(6))
	c := spawn(t, guest.Config{XS: s, DomID: 6, VMUUID: "u"}, guest.WithMinInterval(interval))
	require.Eventually(t, func() bool { return stats(t, c).Reads == 1 && metrics(t, c).OS.Name == "start" }, eventually, tick)
	start := time.Now()
	for i := range 1000 {
		s.set(home(6)+"/data/os_name", fmt.Sprint("v", i))
		c.Refresh()
	}
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "v999" }, eventually, tick)
	elapsed := time.Since(start)
	reads := stats(t, c).Reads
	assert.LessOrEqual(t, reads, uint64(2+elapsed/interval), "reads after %v", elapsed)
	assert.Equal(t, int64(1), s.maxIn.Load(), "reads in flight at once")
}

func TestGuestActor_HungReadKeepsLastMetrics(t *testing.T) {
	s := newMemStore(memKV(8))
	c := spawn(t, guest.Config{XS: s, DomID: 8, VMUUID: "u"}, guest.WithMinInterval(0))
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "start" }, eventually, tick)
	s.setGate(make(chan struct{})) // never opens: the next read hangs until the actor stops
	c.Refresh()
	require.Eventually(t, func() bool { return stats(t, c).Reads == 2 }, eventually, tick)
	assert.Equal(t, "start", metrics(t, c).OS.Name)
}

func TestGuestActor_TellsItsOwner(t *testing.T) {
	system := newSystem(t)
	got := make(chan *guest.MetricsChanged, 16)
	owner := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*guest.MetricsChanged); ok {
			got <- m
		}
	}))
	s := newMemStore(memKV(9))
	pid := system.Root.Spawn(guest.Props(guest.Config{XS: s, DomID: 9, VMUUID: "u", Owner: owner}, guest.WithMinInterval(0)))
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	c := guest.NewClient(system, pid)

	recv := func() *guest.MetricsChanged {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-time.After(eventually):
			require.FailNow(t, "no MetricsChanged")
			return nil
		}
	}
	first := recv()
	assert.Equal(t, "u", first.VMUUID)
	assert.Equal(t, uint32(9), first.DomID)
	assert.Equal(t, "start", first.Metrics.OS.Name)

	c.Refresh() // nothing changed: no message
	require.Eventually(t, func() bool { return stats(t, c).Reads == 2 }, eventually, tick)
	s.set(home(9)+"/data/os_name", "changed")
	c.Refresh()
	second := recv()
	assert.Equal(t, "changed", second.Metrics.OS.Name)
	assert.Empty(t, got)
}

// panicStore panics in one Directory once armed.
type panicStore struct {
	guest.Store
	armed atomic.Bool
}

func (s *panicStore) Directory(ctx context.Context, p string) ([]string, error) {
	if s.armed.CompareAndSwap(true, false) {
		panic("parser blew up")
	}
	return s.Store.Directory(ctx, p)
}

func TestGuestActor_PanickingReadRestartsTheActor(t *testing.T) {
	system := newSystem(t)
	acc := &supervisors.Accounting{}
	parent := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if p, ok := ctx.Message().(*actor.Props); ok {
			ctx.Respond(ctx.Spawn(p))
		}
	}, actor.WithSupervisor(supervisors.New(supervisors.WithFamily("guest"), supervisors.WithAccounting(acc)))))
	t.Cleanup(func() { _ = system.Root.StopFuture(parent).Wait() })
	mem := newMemStore(memKV(10))
	s := &panicStore{Store: mem}
	res, err := system.Root.RequestFuture(parent, guest.Props(guest.Config{XS: s, DomID: 10, VMUUID: "u"},
		guest.WithMinInterval(0)), eventually).Result()
	require.NoError(t, err)
	c := guest.NewClient(system, res.(*actor.PID))
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "start" }, eventually, tick)

	mem.set(home(10)+"/data/os_name", "after")
	s.armed.Store(true)
	c.Refresh()
	require.Eventually(t, func() bool { return len(acc.Counts()) > 0 }, eventually, tick)
	assert.Equal(t, map[supervisors.Key]int{{Family: "guest", Reason: supervisors.ReasonPanic}: 1}, acc.Counts())
	// The new incarnation reads at start.
	require.Eventually(t, func() bool { return metrics(t, c).OS.Name == "after" }, eventually, tick)
	assert.Equal(t, uint64(1), stats(t, c).Reads)
}
