package guestagent_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// fakeOS is a Source whose snapshot the test changes.
type fakeOS struct {
	mu sync.Mutex
	s  guestagent.Snapshot
}

func (f *fakeOS) Snapshot(context.Context) (guestagent.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s, nil
}

func (f *fakeOS) setAddr(a string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s.Interfaces = []guestagent.Interface{{Name: "eth0", MAC: "00:16:3e:00:00:01",
		Addrs: []netip.Addr{netip.MustParseAddr(a)}}}
}

func newFakeOS() *fakeOS {
	f := &fakeOS{s: guestagent.Snapshot{Hostname: "vm1", OS: guestagent.OS{Name: "Alpine Linux", Uname: "6.6.0"},
		Memory: guestagent.Memory{TotalKiB: 1000, FreeKiB: 500}}}
	f.setAddr("10.0.0.2")
	return f
}

// rounds collects Run's rounds.
type rounds struct {
	mu  sync.Mutex
	all []guestagent.Result
	err []error
}

func (r *rounds) add(res guestagent.Result, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, res)
	r.err = append(r.err, err)
}

// wrote returns the rounds that wrote something.
func (r *rounds) wrote() []guestagent.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []guestagent.Result
	for _, res := range r.all {
		if len(res.Written) > 0 {
			out = append(out, res)
		}
	}
	return out
}

// start runs the agent until the test ends.
func start(t *testing.T, cfg guestagent.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- guestagent.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

func TestRun_ReportsAndRepublishesOnNewDomain(t *testing.T) {
	r := newRig(t)
	src := newFakeOS()
	var rs rounds
	// An hour's interval: every round after the first is prompted by the
	// unique-domain-id watch.
	start(t, guestagent.Config{Dial: r.guest, Source: src, Interval: time.Hour, OnRound: rs.add})

	require.Eventually(t, func() bool { return r.read(t, "attr/vif/0/ipv4/0") == "10.0.0.2" }, waitFor, tick)
	require.Equal(t, "Alpine Linux", r.read(t, "data/os_name"))
	require.Equal(t, "1000", r.read(t, "data/meminfo_total"))
	require.Equal(t, "1", r.read(t, "data/updated"))
	require.Len(t, rs.wrote(), 1)

	// A migration: the new domain's home lacks the reports, and its
	// unique-domain-id is new. The agent publishes everything at once.
	src.setAddr("10.0.0.7")
	ctx := tctx(t)
	require.NoError(t, r.dom0.Rm(ctx, r.home+"/data"))
	require.NoError(t, r.dom0.Mkdir(ctx, r.home+"/data"))
	r.write(t, "unique-domain-id", "uid-2")
	require.Eventually(t, func() bool {
		return r.read(t, "attr/vif/0/ipv4/0") == "10.0.0.7" && r.read(t, "data/os_name") == "Alpine Linux"
	}, waitFor, tick)
	w := rs.wrote()
	require.Len(t, w, 2)
	require.True(t, w[1].NewDomain)
	require.Contains(t, w[1].Written, "data/meminfo_total")
}

func TestRun_Interval(t *testing.T) {
	r := newRig(t)
	src := newFakeOS()
	var rs rounds
	start(t, guestagent.Config{Dial: r.guest, Source: src, Interval: 5 * time.Millisecond, OnRound: rs.add})
	require.Eventually(t, func() bool { return r.read(t, "attr/vif/0/ipv4/0") == "10.0.0.2" }, waitFor, tick)
	// The address changes; the next round reports it, and only it.
	src.setAddr("10.0.0.3")
	require.Eventually(t, func() bool { return r.read(t, "attr/vif/0/ipv4/0") == "10.0.0.3" }, waitFor, tick)
	require.Eventually(t, func() bool { return len(rs.wrote()) == 2 }, waitFor, tick)
	require.Equal(t, []string{"attr/vif/0/ipv4/0", "data/updated"}, rs.wrote()[1].Written)
}

func TestRun_SurvivesXenstoreErrors(t *testing.T) {
	r := newRig(t)
	src := newFakeOS()
	var dials atomic.Int32
	var conns []*xenstore.Client
	var mu sync.Mutex
	dial := func(ctx context.Context) (*xenstore.Client, error) {
		if dials.Add(1) <= 2 {
			return nil, errors.New("no xenbus yet")
		}
		xs, err := r.guest(ctx)
		mu.Lock()
		conns = append(conns, xs)
		mu.Unlock()
		return xs, err
	}
	start(t, guestagent.Config{Dial: dial, Source: src, Interval: 5 * time.Millisecond})
	require.Eventually(t, func() bool { return r.read(t, "data/os_name") == "Alpine Linux" }, waitFor, tick)

	// The connection drops: the agent dials again and goes on reporting.
	mu.Lock()
	require.NoError(t, conns[0].Close())
	mu.Unlock()
	src.setAddr("10.0.0.4")
	require.Eventually(t, func() bool { return r.read(t, "attr/vif/0/ipv4/0") == "10.0.0.4" }, waitFor, tick)
	require.GreaterOrEqual(t, dials.Load(), int32(4))
}

func TestRun_Once(t *testing.T) {
	r := newRig(t)
	err := guestagent.Run(tctx(t), guestagent.Config{Dial: r.guest, Source: newFakeOS(), Once: true})
	require.NoError(t, err)
	require.Equal(t, "10.0.0.2", r.read(t, "attr/vif/0/ipv4/0"))

	err = guestagent.Run(tctx(t), guestagent.Config{Once: true, Source: newFakeOS(),
		Dial: func(context.Context) (*xenstore.Client, error) { return nil, errors.New("no xenbus") }})
	require.ErrorContains(t, err, "no xenbus")
}
