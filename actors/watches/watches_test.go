package watches

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

func TestWatches_IntroduceRelease_DepthGivesDomid(t *testing.T) {
	f := newFixture(t)
	ctx := tctx(t)
	f.sink.waitDomain(t, 0, WhyRescan) // the global watches' first event

	require.NoError(t, f.dom0.Introduce(ctx, 5, 1, 1))
	f.sink.waitDomain(t, 5, WhyIntroduce)
	require.NoError(t, f.dom0.Release(ctx, 5))
	f.sink.waitDomain(t, 5, WhyRelease)
}

func TestWatches_DomainWrites_Why(t *testing.T) {
	f := newFixture(t)
	g := f.guest(t, 7)
	f.watch(t, 7)
	ctx := tctx(t)
	for _, tc := range []struct {
		name, path, why string
		asGuest         bool
	}{
		{"data", "data/updated", WhyData, true},
		{"control", "control/shutdown", WhyControl, false},
		{"device frontend", "device/vbd/51712/state", WhyDevice, true},
		{"attr", "attr/os/name", WhyAttr, true},
		{"memory target", "memory/target", WhyMemory, false},
		{"backend", "/local/domain/0/backend/vbd/7/51712/state", WhyDevice, false},
		{"vif backend", "/local/domain/0/backend/vif/7/0/hotplug-status", WhyDevice, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path[0] != '/' {
				path = xenstore.DomainPath(7) + "/" + path
			}
			if tc.asGuest {
				require.NoError(t, g.Write(ctx, tc.path, []byte("1")))
			} else {
				require.NoError(t, f.dom0.Write(ctx, path, []byte("1")))
			}
			n := f.sink.waitFor(t, tc.why, func(n NeedsAttention) bool { return n.DomID == 7 })
			assert.True(t, n.Has(tc.why), "got %q", n.Why)
		})
	}
}

func TestWatches_Flood_BoundedAndFinalNotified(t *testing.T) {
	const interval = 20 * time.Millisecond
	f := newFixture(t, WithMinInterval(interval))
	g := f.guest(t, 8)
	f.watch(t, 8)
	ctx := tctx(t)

	// The consumer re-reads data/x on each notification, as a VM actor
	// would: it sees "final" only if a notification follows the last write.
	seen := make(chan string, 1)
	count := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range f.sink.ch {
			if n.DomID != 8 {
				continue
			}
			count++
			v, err := f.dom0.Read(ctx, xenstore.DomainPath(8)+"/data/x")
			if err == nil && string(v) == "final" {
				seen <- "final"
				return
			}
		}
	}()

	start := time.Now()
	for i := range 10000 {
		require.NoError(t, g.Write(ctx, "data/x", []byte(strconv.Itoa(i))))
	}
	require.NoError(t, g.Write(ctx, "data/x", []byte("final")))
	elapsed := time.Since(start)

	select {
	case <-seen:
	case <-time.After(waitTimeout):
		t.Fatal("the final write was never notified")
	}
	<-done
	bound := int(elapsed/interval) + 5
	t.Logf("10001 writes in %v gave %d notifications (bound %d)", elapsed, count, bound)
	assert.LessOrEqual(t, count, bound)
}

func TestWatches_Unwatch_StopsNotifications(t *testing.T) {
	f := newFixture(t)
	g8, g9 := f.guest(t, 8), f.guest(t, 9)
	f.watch(t, 8)
	f.watch(t, 9)
	ctx := tctx(t)

	require.NoError(t, f.client.UnwatchDomain(ctx, 8))
	ids, err := f.client.Watched(ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint32{9}, ids)

	require.NoError(t, g8.Write(ctx, "data/x", []byte("ignored")))
	require.NoError(t, g9.Write(ctx, "data/x", []byte("seen")))
	// Events of one connection arrive in order, so once 9's is here, 8's
	// would have been too.
	f.sink.waitFor(t, "for domain 9", func(n NeedsAttention) bool {
		require.NotEqual(t, uint32(8), n.DomID, "notified after unwatch: %+v", n)
		return n.DomID == 9 && n.Has(WhyData)
	})
}

func TestWatches_ConnectionLost_ReRegistersAndRechecks(t *testing.T) {
	f := newFixture(t)
	guests := map[uint32]*xenstore.Client{10: f.guest(t, 10), 11: f.guest(t, 11), 12: f.guest(t, 12)}
	f.watch(t, 10)
	f.watch(t, 11)
	ctx := tctx(t)

	f.dialer.fail.Store(true)
	f.dialer.cut()
	require.Eventually(t, func() bool {
		st, err := f.client.Status(ctx)
		return err == nil && !st.Connected && f.dialer.dials.Load() >= 3
	}, waitTimeout, time.Millisecond, "the actor should notice and retry")

	// Recorded while disconnected, applied after.
	require.NoError(t, f.client.WatchDomain(ctx, 12))
	f.dialer.fail.Store(false)

	got := map[uint32]string{}
	f.sink.waitFor(t, "for every domain", func(n NeedsAttention) bool {
		if n.DomID != 0 {
			got[n.DomID] += n.Why + ";"
		}
		return len(got) == 3
	})
	assert.Equal(t, map[uint32]string{10: "reconnected;", 11: "reconnected;", 12: "watched;"}, got)

	for id, g := range guests {
		require.NoError(t, g.Write(ctx, "control/x", []byte("after")), "domain %d", id)
		f.sink.waitFor(t, fmt.Sprintf("control for %d", id), func(n NeedsAttention) bool {
			require.False(t, n.Has(WhyReconnected) || n.Has(WhyWatched), "a second re-check: %+v", n)
			return n.DomID == id && n.Has(WhyControl)
		})
	}
}

func TestWatches_Stop_EndsBlockedNotifier(t *testing.T) {
	// The notifier is never read: the actor keeps answering, and stopping
	// it (spawn's cleanup waits for that) ends the blocked hand-over.
	f := newFixture(t)
	blocked := &sink{ch: make(chan NeedsAttention)}
	c := spawn(t, f.dialer.dial, blocked)
	ctx := tctx(t)
	require.NoError(t, f.dom0.Introduce(ctx, 3, 1, 1)) // a notification nobody takes
	require.NoError(t, c.WatchDomain(ctx, 3))
	require.Eventually(t, func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.Connected && len(st.Watched) == 1
	}, waitTimeout, time.Millisecond)
}

func TestWatches_RegistrationRefused_Retried(t *testing.T) {
	// The actor runs as a driver domain whose watch quota (6) another
	// connection of it fills up to leave room for the global watches (2)
	// but not a domain's (home and 3 backends). Once room is made, the
	// retry registers them.
	f := newFixture(t)
	ctx := tctx(t)
	const driver = 20
	require.NoError(t, f.dom0.Introduce(ctx, driver, 1, 1))
	require.NoError(t, f.dom0.SetDomainQuota(ctx, driver, "watches", 6))
	conn, err := f.srv.ConnectDomain(driver)
	require.NoError(t, err)
	hog := xenstore.NewClient(conn)
	t.Cleanup(func() { hog.Close() })
	var held []*xenstore.Watch
	for i := range 3 {
		x, err := hog.Watch(ctx, fmt.Sprintf("/hog/%d", i), "hog")
		require.NoError(t, err)
		held = append(held, x)
	}

	dial := func(context.Context) (*xenstore.Client, error) {
		conn, err := f.srv.ConnectDomain(driver)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(conn), nil
	}
	s := newSink()
	c := spawn(t, dial, s)
	s.waitDomain(t, 0, WhyRescan)

	require.NoError(t, c.WatchDomain(ctx, 7))
	require.Eventually(t, func() bool {
		st, err := c.Status(ctx)
		return err == nil && len(st.Failing) == 1
	}, waitTimeout, time.Millisecond)
	for _, x := range held {
		require.NoError(t, x.Close(ctx))
	}
	s.waitDomain(t, 7, WhyWatched)
	st, err := c.Status(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Failing)
}

func TestWatches_WatchAgainAfterUnwatch(t *testing.T) {
	f := newFixture(t)
	g := f.guest(t, 8)
	ctx := tctx(t)
	for range 5 { // unwatch and watch again without waiting for registration
		require.NoError(t, f.client.WatchDomain(ctx, 8))
		require.NoError(t, f.client.UnwatchDomain(ctx, 8))
	}
	f.watch(t, 8)
	// The "watched" notification that f.watch waited for may be one of the
	// earlier registrations': write until the last one reports the write.
	deadline := time.Now().Add(waitTimeout)
	for i := 0; ; i++ {
		require.NoError(t, g.Write(ctx, "data/x", []byte(strconv.Itoa(i))))
		if f.sink.poll(8, WhyData, 100*time.Millisecond) {
			break
		}
		require.True(t, time.Now().Before(deadline), "no notification data")
	}
	st, err := f.client.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, Status{Connected: true, Watched: []uint32{8}}, st)
}
