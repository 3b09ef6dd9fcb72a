package vm_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/actors/watches"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/supervisors"
)

// fastGuest lets the guest actor read every 10 ms.
func fastGuest(cfg *vm.Config) {
	cfg.GuestOptions = append(cfg.GuestOptions, guest.WithMinInterval(10*time.Millisecond))
}

// refreshUntil tells the VM that the guest wrote data/, as the watches do,
// until its status satisfies ok.
func (e *env) refreshUntil(t *testing.T, c vm.Client, ok func(*vm.VMStatus) bool) *vm.VMStatus {
	t.Helper()
	return eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		if ok(st) {
			return true
		}
		e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data"})
		return false
	})
}

// vifIP is the address the simulated agent reports for VIF 0 of domid.
func vifIP(domid hypervisor.DomID) string {
	return fmt.Sprintf("10.%d.%d.2", domid>>8&0xff, domid&0xff)
}

// hasIP reports whether the status shows ip as VIF 0's address.
func hasIP(st *vm.VMStatus, ip string) bool {
	return st.Guest != nil && len(st.Guest.Networks[0].IPv4) > 0 && st.Guest.Networks[0].IPv4[0] == ip
}

// guestAlive reports whether the VM actor has a guest child.
func (e *env) guestAlive(c vm.Client) bool {
	_, ok := e.system.ProcessRegistry.GetLocal(c.PID().GetId() + "/guest")
	return ok
}

func TestVMActor_Guest_MetricsInStatFollowTheDomain(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux,agent=20ms"), fastGuest)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)

	st := e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) && st.Guest.OS.Name != "" })
	require.Equal(t, "Debian GNU/Linux 12 (bookworm)", st.Guest.OS.Name)
	require.True(t, st.Guest.Features.Balloon)
	require.Equal(t, uint64(guestMemoryKiB), st.Guest.Memory.TargetKiB)

	// A reboot makes a new domain: a new guest actor reads it.
	id, err := c.Reboot(ctx, true)
	e.succeed(t, id, err)
	st = eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running && st.DomID != domid })
	newDom := st.DomID
	require.NotEqual(t, vifIP(domid), vifIP(newDom))
	e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(newDom)) })

	// A shutdown drops the metrics and stops the guest actor.
	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	st, err = c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	require.Nil(t, st.Guest)
	require.Eventually(t, func() bool { return !e.guestAlive(c) }, waitFor, tick)
	e.requireNothingLeft(t)
}

func TestVMActor_Guest_AdoptedDomainIsRead(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux,agent=20ms")
	c := e.spawnVM(t, spec, fastGuest)
	domid := startRunning(t, e, c)
	e.stopVM(t, c)

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { fastGuest(cfg); cfg.AdoptDomID = domid })
	e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running && hasIP(st, vifIP(domid)) })

	id, err := c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// settle waits until the VM actor ran everything queued before, and the
// update stream holds every announcement it made; it returns the stream's
// position after them.
func (e *env) settle(t *testing.T, c vm.Client) uint64 {
	t.Helper()
	ctx := ctxFor(t)
	id, err := c.SetVCPUs(ctx, 1) // queued behind any check
	e.succeed(t, id, err)
	_, err = c.Stat(ctx) // the actor sent its announcements before it answers
	require.NoError(t, err)
	b, err := e.events.Barrier(ctx)
	require.NoError(t, err)
	next := uint64(0)
	for !b.Reached(next) {
		rep, err := e.events.Next(ctx, next)
		require.NoError(t, err)
		next = rep.Next
	}
	return next
}

func TestVMActor_Guest_ChangeIsAnnounced(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux,agent=20ms")
	c := e.spawnVM(t, spec, fastGuest)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) })
	from := e.settle(t, c)

	// A key the agent does not write: its only announcement is the guest
	// actor's.
	require.NoError(t, e.xs.Write(ctx, "/local/domain/"+domid.String()+"/data/xenactor-test", []byte("42")))
	e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data"})
	for {
		rep, err := e.events.Next(ctx, from)
		require.NoError(t, err)
		require.False(t, rep.Empty(), "no announcement")
		if assert.ObjectsAreEqual(rep.IDs, []string{vm.ObjectID(spec.UUID)}) {
			break
		}
		require.NotContains(t, rep.IDs, vm.ObjectID(spec.UUID), "announced with others: %v", rep.IDs)
		from = rep.Next
	}
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, "42", st.Guest.Other["data/xenactor-test"])

	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// countingHV counts DomainInfo calls (checks make one each).
type countingHV struct {
	hypervisor.Hypervisor
	infos atomic.Int64
}

func (h *countingHV) DomainInfo(ctx context.Context, id hypervisor.DomID) (hypervisor.DomainInfo, error) {
	h.infos.Add(1)
	return h.Hypervisor.DomainInfo(ctx, id)
}

func TestVMActor_Guest_ReportsQueueNoCheck(t *testing.T) {
	e := newEnv(t)
	hv := &countingHV{Hypervisor: e.hv}
	c := e.spawnVM(t, newSpec("sim:linux,agent=20ms"), func(cfg *vm.Config) { fastGuest(cfg); cfg.Hypervisor = hv })
	domid := startRunning(t, e, c)
	e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) })

	// checks returns how many checks 200 CheckState{why} ran.
	checks := func(why string) int64 {
		e.settle(t, c)
		before := hv.infos.Load()
		for range 200 {
			e.system.Root.Send(c.PID(), &vm.CheckState{Why: why})
		}
		e.settle(t, c)
		return hv.infos.Load() - before - 1 // settle's Stat made one
	}
	require.Zero(t, checks("data,attr,memory,feature"), "guest reports queued a check")
	require.Positive(t, checks("data,control"), "control queues a check")
	require.Positive(t, checks("domain event"))

	id, err := c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// requireBounded requires that m kept within q and holds only text.
func requireBounded(t *testing.T, m *guest.GuestMetrics, q guest.Quota) {
	t.Helper()
	require.LessOrEqual(t, m.Cost.Bytes, q.MaxBytes)
	require.LessOrEqual(t, len(m.Other), guest.DefaultMaxOther)
	require.LessOrEqual(t, len(m.Dropped), 16)
	all := []string{m.OS.Name, m.OS.Uname, m.OS.Distro}
	for k, v := range m.Other {
		all = append(all, k, v)
	}
	for _, n := range m.Networks {
		all = append(all, n.IPv4...)
		all = append(all, n.IPv6...)
	}
	for _, s := range all {
		require.True(t, printable(s), "%q", s)
	}
}

func TestVMActor_Guest_HostileProfiles(t *testing.T) {
	q := guest.Quota{MaxBytes: 16 << 10}
	for _, tc := range []struct {
		profile string
		read    func(*guest.GuestMetrics) bool // the hostile reports were read
	}{
		{"hostile-junk", func(m *guest.GuestMetrics) bool {
			return m.Truncated && strings.Contains(strings.Join(m.Dropped, ";"), "not text")
		}},
		{"hostile-quota", func(m *guest.GuestMetrics) bool { return m.Truncated }},
		{"hostile-noack", func(m *guest.GuestMetrics) bool { return m.OS.Name != "" }},
		{"hostile-flapper", func(m *guest.GuestMetrics) bool { return m.Features.Poweroff }},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			e := newEnv(t)
			c := e.spawnVM(t, newSpec("sim:"+tc.profile+",agent=20ms"), func(cfg *vm.Config) {
				fastGuest(cfg)
				cfg.GuestOptions = append(cfg.GuestOptions, guest.WithQuota(q))
			})
			ctx := ctxFor(t)
			id, err := c.Start(ctx, false)
			e.succeed(t, id, err)
			st := e.refreshUntil(t, c, func(st *vm.VMStatus) bool {
				return st.PowerState == vm.Running && st.Guest != nil && tc.read(st.Guest)
			})
			requireBounded(t, st.Guest, q)
			for range 5 { // more reads, while the guest goes on
				e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data,attr,control"})
				st, err = c.Stat(ctx)
				require.NoError(t, err)
				require.NotNil(t, st.Guest)
				requireBounded(t, st.Guest, q)
			}

			id, err = c.Shutdown(ctx, true)
			e.succeed(t, id, err)
			st, err = c.Stat(ctx)
			require.NoError(t, err)
			require.Nil(t, st.Guest)
			e.eventuallyNothingLeft(t)
		})
	}
}

// panicStore panics in one Directory once armed.
type panicStore struct {
	guest.Store
	armed atomic.Bool
}

func (s *panicStore) Directory(ctx context.Context, p string) ([]string, error) {
	if s.armed.CompareAndSwap(true, false) {
		panic("guest report parser blew up")
	}
	return s.Store.Directory(ctx, p)
}

func TestVMActor_Guest_PanicRestartsOnlyTheGuestActor(t *testing.T) {
	e := newEnv(t)
	devAcc, guestAcc := &supervisors.Accounting{}, &supervisors.Accounting{}
	store := &panicStore{Store: e.xs}
	c := e.spawnVM(t, newSpec("sim:linux,agent=20ms"), func(cfg *vm.Config) {
		fastGuest(cfg)
		cfg.DeviceSupervisor = supervisors.New(supervisors.WithAccounting(devAcc))
		cfg.GuestSupervisor = supervisors.New(supervisors.WithFamily("guest"), supervisors.WithAccounting(guestAcc))
		vm.WrapGuestStore(cfg, func(guest.Store) guest.Store { return store })
	})
	domid := startRunning(t, e, c)
	before := e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) }).Guest

	store.armed.Store(true)
	e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data"})
	require.Eventually(t, func() bool { return len(guestAcc.Counts()) > 0 }, waitFor, tick)
	require.Equal(t, map[supervisors.Key]int{{Family: "guest", Reason: supervisors.ReasonPanic}: 1}, guestAcc.Counts())

	// The restarted guest actor reads again at once; nothing else moved.
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.Guest != nil && st.Guest.Updated.After(before.Updated) && hasIP(st, vifIP(domid))
	})
	require.Equal(t, vm.Running, st.PowerState)
	require.Equal(t, domid, st.DomID)
	require.True(t, allDevices(st, xenbus.StateConnected, xenbus.StateConnected))
	require.NoError(t, st.LastError)
	require.Empty(t, devAcc.Counts())
	require.Len(t, guestAcc.Counts(), 1)

	id, err := c.Shutdown(ctxFor(t), false)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}

// hangStore holds every Directory once armed until its ctx ends, and
// counts the ones held.
type hangStore struct {
	guest.Store
	armed atomic.Bool
	held  atomic.Int64
}

func (s *hangStore) Directory(ctx context.Context, p string) ([]string, error) {
	if s.armed.Load() {
		s.held.Add(1)
		defer s.held.Add(-1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.Directory(ctx, p)
}

func TestVMActor_Guest_DomainGoneEndsTheReads(t *testing.T) {
	e := newEnv(t)
	store := &hangStore{Store: e.xs}
	c := e.spawnVM(t, newSpec("sim:linux,agent=20ms"), func(cfg *vm.Config) {
		fastGuest(cfg)
		vm.WrapGuestStore(cfg, func(guest.Store) guest.Store { return store })
	})
	domid := startRunning(t, e, c)
	e.refreshUntil(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) })

	store.armed.Store(true)
	e.system.Root.Send(c.PID(), &vm.CheckState{Why: "data"})
	require.Eventually(t, func() bool { return store.held.Load() == 1 }, waitFor, tick)
	st, err := c.Stat(ctxFor(t)) // a hung read does not hold the VM actor
	require.NoError(t, err)
	require.NotNil(t, st.Guest)

	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownPoweroff)) // destroyed by default
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted && st.Guest == nil })
	require.Eventually(t, func() bool { return store.held.Load() == 0 }, waitFor, tick, "the read goes on")
	require.Eventually(t, func() bool { return !e.guestAlive(c) }, waitFor, tick)
	e.eventuallyNothingLeft(t)
}

func TestVMActor_Guest_WatchesRefreshTheMetrics(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux,agent=20ms"), fastGuest)
	// The watches actor turns the guest's writes into check states, as the
	// host actor routes them.
	root := e.system.Root
	wpid := root.Spawn(watches.Props(simtest.Dom0Dialer(e.h), func(_ context.Context, n watches.NeedsAttention) {
		root.Send(c.PID(), &vm.CheckState{Why: n.Why})
	}, watches.WithMinInterval(10*time.Millisecond)))
	t.Cleanup(func() { _ = root.StopFuture(wpid).Wait() })
	domid := startRunning(t, e, c)
	require.NoError(t, watches.NewClient(e.system, wpid).WatchDomain(ctxFor(t), uint32(domid)))

	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return hasIP(st, vifIP(domid)) && st.Guest.OS.Name != "" })

	id, err := c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.eventuallyNothingLeft(t)
}
