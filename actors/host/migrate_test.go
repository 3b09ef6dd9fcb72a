package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const migrateToken = "migrate-token"

// migrationHost is a host actor on its own simulated host and actor
// system, with a migration listener.
type migrationHost struct {
	*env
	hc   host.Client
	tc   tasks.Client
	addr string
}

func newMigrationHost(t *testing.T, cfg sim.Config) *migrationHost {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	h, err := sim.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	store, err := statedir.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	e := &env{h: h, xs: simtest.Dom0(t, h), store: store, system: actortest.System(t)}
	m := &migrationHost{env: e, hc: e.spawnHost(t)}
	pids, err := m.hc.PIDs(ctxFor(t))
	require.NoError(t, err)
	m.tc = tasks.NewClient(e.system, pids.Tasks)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m.addr = ln.Addr().String()
	srv := &migrate.Server{Token: migrateToken, Destination: host.MigrationDestination{Host: m.hc}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return m
}

// startVM adds and starts a VM on m and waits for its guest agent's
// report.
func (m *migrationHost) startVM(t *testing.T) (vm.Spec, vm.Client) {
	t.Helper()
	ctx := ctxFor(t)
	spec := newSpec()
	c, err := m.hc.AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task, err := m.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	require.Eventually(t, func() bool {
		st, err := c.Stat(ctx)
		return err == nil && st.Guest != nil && st.Guest.OS.Name != ""
	}, waitFor, tick, "the guest agent reports")
	return spec, c
}

// domainsOf returns the domains of uuid on m's hypervisor.
func (m *migrationHost) domainsOf(t *testing.T, uuid string) []hypervisor.DomainInfo {
	t.Helper()
	all, err := m.h.Hypervisor().ListDomains(context.Background())
	require.NoError(t, err)
	var out []hypervisor.DomainInfo
	for _, d := range all {
		if d.UUID == uuid && !d.Dying {
			out = append(out, d)
		}
	}
	return out
}

func TestMigration_MovesARunningVMWithItsMemory(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	b := newMigrationHost(t, sim.Config{})
	ctx := ctxFor(t)
	spec, c := a.startVM(t)
	domA := states(t, a.hc)[spec.UUID].DomID
	require.NoError(t, a.h.Sim().WritePage(ctx, domA, 9, []byte("state of the guest")))
	idA, err := a.xs.Read(ctx, fmt.Sprintf("/local/domain/%d/unique-domain-id", domA))
	require.NoError(t, err)

	id, err := c.Migrate(ctx, vm.MigrateVM{Dest: b.addr, Token: migrateToken, Live: true, Compress: true})
	require.NoError(t, err)
	task, err := a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "migrate: %s", task.Error)
	var res vm.MigrateResult
	require.NoError(t, json.Unmarshal(task.Result, &res))
	assert.Equal(t, b.addr, res.Dest)
	assert.Positive(t, res.BytesSent)
	require.NotEmpty(t, res.Rounds, "the rounds are in the result")
	assert.Zero(t, res.Rounds[0].Iteration)
	assert.Positive(t, res.Rounds[0].BytesSent)
	assert.LessOrEqual(t, res.Rounds[len(res.Rounds)-1].BytesSent, res.BytesSent)

	// The source forgot it: no VM, no record, no domain, no xenstore trees.
	require.Eventually(t, func() bool { _, ok := states(t, a.hc)[spec.UUID]; return !ok }, waitFor, tick)
	ids, err := a.store.List(ctx, host.KindVM)
	require.NoError(t, err)
	assert.Empty(t, ids)
	assert.Empty(t, a.domainsOf(t, spec.UUID))
	a.requireXenstoreEmpty(t)

	// The destination owns it, running, with its memory and its record.
	info := states(t, b.hc)[spec.UUID]
	require.Equal(t, vm.Running, info.PowerState)
	assert.Equal(t, spec.VIFs, info.Spec.VIFs)
	page, err := b.h.Sim().ReadPage(ctx, info.DomID, 9)
	require.NoError(t, err)
	assert.Equal(t, "state of the guest", string(page[:18]))
	ids, err = b.store.List(ctx, host.KindVM)
	require.NoError(t, err)
	assert.Equal(t, []string{spec.UUID}, ids)
	ids, err = b.store.List(ctx, host.KindReceiving)
	require.NoError(t, err)
	assert.Empty(t, ids, "the receiving record ends with the migration")
	bc, err := b.hc.VM(ctx, spec.UUID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := bc.Stat(ctx)
		return err == nil && st.Guest != nil && st.Guest.OS.Name != "" && len(st.Devices) == 2
	}, waitFor, tick, "the guest's metrics resume on the destination")

	idB, err := b.xs.Read(ctx, fmt.Sprintf("/local/domain/%d/unique-domain-id", info.DomID))
	require.NoError(t, err)
	assert.Len(t, string(idB), 36)
	assert.NotEqual(t, string(idA), string(idB), "the guest agent can tell it moved")

	// It runs on: a shutdown there works.
	id, err = bc.Shutdown(ctx, true)
	require.NoError(t, err)
	task, err = b.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "shutdown: %s", task.Error)
	b.requireXenstoreEmpty(t)
}

func TestMigration_FailuresLeaveTheVMOnTheSource(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	spec, c := a.startVM(t)
	domA := states(t, a.hc)[spec.UUID].DomID
	cases := []struct {
		name string
		dst  sim.Config
		msg  func(addr string) vm.MigrateVM
		want string
	}{
		{"bad token", sim.Config{}, func(addr string) vm.MigrateVM {
			return vm.MigrateVM{Dest: addr, Token: "wrong", Live: true}
		}, "bad token"},
		{"destination out of memory", sim.Config{Hypervisor: hvsimSmall()}, func(addr string) vm.MigrateVM {
			return vm.MigrateVM{Dest: addr, Token: migrateToken, Live: true}
		}, "memory: destination:"},
		{"no destination", sim.Config{}, func(string) vm.MigrateVM {
			return vm.MigrateVM{Dest: "127.0.0.1:1", Token: migrateToken, Live: true}
		}, "dial migration listener"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMigrationHost(t, tc.dst)
			ctx := ctxFor(t)
			id, err := c.Migrate(ctx, tc.msg(b.addr))
			require.NoError(t, err)
			task, err := a.tc.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, tasks.Failed, task.State)
			assert.Contains(t, task.Error, tc.want)
			st, err := c.Stat(ctx)
			require.NoError(t, err)
			assert.Equal(t, vm.Running, st.PowerState, "the VM runs on the source")
			assert.Equal(t, domA, st.DomID)
			require.Eventually(t, func() bool { return len(states(t, b.hc)) == 0 }, waitFor, tick,
				"the destination forgot the VM")
			assert.Empty(t, b.domainsOf(t, spec.UUID))
			b.requireNoGuestTrees(t)
			ids, err := b.store.List(ctx, host.KindVM)
			require.NoError(t, err)
			assert.Empty(t, ids)
			require.Eventually(t, func() bool {
				ids, err := b.store.List(ctx, host.KindReceiving)
				return err == nil && len(ids) == 0
			}, waitFor, tick, "the receiving record ends with the failed migration")
		})
	}
}

// hvsimSmall is a host with room for a domain's overhead but not for the
// memory of newSpec's VMs.
func hvsimSmall() hvsim.Config {
	return hvsim.Config{HostMemoryKiB: 1 << 20, Dom0MemoryKiB: 1<<20 - 32<<10}
}

// requireNoGuestTrees checks that xenstore holds no tree of a guest
// domain: a host where no guest ever ran may lack /local/domain itself.
func (e *env) requireNoGuestTrees(t *testing.T) {
	t.Helper()
	ctx := ctxFor(t)
	for _, dir := range []string{"/local/domain", "/vm", "/local/domain/0/backend/vbd", "/local/domain/0/backend/vif"} {
		names, err := e.xs.Directory(ctx, dir)
		if errdefs.IsNotFound(err) {
			continue
		}
		require.NoError(t, err)
		if dir == "/local/domain" {
			names = slices.DeleteFunc(names, func(n string) bool { return n == "0" })
		}
		assert.Empty(t, names, "%s", dir)
	}
}

// TestMigration_CancelWhileTheDestinationStalls cancels a migration whose
// destination accepted the connection and says nothing: the VM runs on.
func TestMigration_CancelWhileTheDestinationStalls(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	spec, c := a.startVM(t)
	ctx := ctxFor(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case conn := <-accepted:
			_ = conn.Close()
		default:
		}
	})
	id, err := c.Migrate(ctx, vm.MigrateVM{Dest: ln.Addr().String(), Token: migrateToken, Live: true})
	require.NoError(t, err)
	conn := <-accepted
	accepted <- conn // for the cleanup
	require.NoError(t, a.tc.Cancel(ctx, id))
	task, err := a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Failed, task.State)
	assert.Contains(t, task.Error, "cancel")
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	assert.Equal(t, vm.Running, st.PowerState)
	assert.Len(t, a.domainsOf(t, spec.UUID), 1)
}
