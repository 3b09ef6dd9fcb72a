package vm_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/supervisors"
)

const (
	guestMemoryKiB = 64 << 10
	waitFor        = 5 * time.Second
	tick           = 5 * time.Millisecond
)

// env is a simulated host with a toolstack's actor system around it.
type env struct {
	h      *sim.Host
	hv     hypervisor.Hypervisor
	xs     *xenstore.Client
	system *actor.ActorSystem
	tasks  tasks.Client
	events events.Client
	parent *actor.PID
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h := simtest.NewHost(t)
	xs := simtest.Dom0(t, h)
	system := actortest.System(t)
	ev := system.Root.Spawn(events.Props())
	tk := system.Root.Spawn(tasks.Props(tasks.WithEvents(ev)))
	parent := system.Root.Spawn(actor.PropsFromFunc(spawner).Configure(actor.WithSupervisor(supervisors.New())))
	return &env{h: h, hv: h.Hypervisor(), xs: xs, system: system, tasks: tasks.NewClient(system, tk),
		events: events.NewClient(system, ev), parent: parent}
}

// spawnChild asks the test's parent actor to spawn a child.
type spawnChild struct {
	name  string
	props *actor.Props
}

// spawner is a plain parent whose children are supervised by
// supervisors.New().
func spawner(ctx actor.Context) {
	if msg, ok := ctx.Message().(*spawnChild); ok {
		pid, err := ctx.SpawnNamed(msg.props, msg.name)
		if err != nil {
			ctx.Respond(err)
			return
		}
		ctx.Respond(pid)
	}
}

func newSpec(kernel string) vm.Spec {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return vm.Spec{UUID: uuid, Name: "test-" + uuid[:8], Type: hypervisor.DomainTypePV, VCPUs: 1,
		MemoryKiB: guestMemoryKiB, Kernel: kernel,
		VBDs: []vm.VBD{{DevID: 51712, Params: "/dev/loop0"}},
		VIFs: []vm.VIF{{DevID: 0, MAC: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
}

// spawnVM spawns the VM actor of spec under the parent; tune adjusts its
// config.
func (e *env) spawnVM(t *testing.T, spec vm.Spec, tune func(*vm.Config)) vm.Client {
	t.Helper()
	cfg := vm.Config{Spec: spec, Hypervisor: e.hv, Xenstore: e.xs, Hotplug: e.h.Hotplug().Device(),
		Tasks: e.tasks.PID(), Events: e.events.PID(), UnplugTimeout: 2 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	res, err := e.system.Root.RequestFuture(e.parent, &spawnChild{name: vm.Name(spec.UUID), props: vm.Props(cfg)},
		waitFor).Result()
	require.NoError(t, err)
	pid, ok := res.(*actor.PID)
	require.True(t, ok, "spawn: %v", res)
	return vm.NewClient(e.system, pid)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wait waits for task id to finish.
func (e *env) wait(t *testing.T, id string) tasks.Task {
	t.Helper()
	task, err := e.tasks.Wait(ctxFor(t), id)
	require.NoError(t, err)
	return task
}

// succeed waits for task id and requires it completed.
func (e *env) succeed(t *testing.T, id string, err error) tasks.Task {
	t.Helper()
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Completed, task.State, "task %s: %s", task.Kind, task.Error)
	return task
}

// eventuallyStatus waits until the VM's status satisfies ok.
func eventuallyStatus(t *testing.T, c vm.Client, ok func(*vm.VMStatus) bool) *vm.VMStatus {
	t.Helper()
	var last *vm.VMStatus
	ok2 := assert.Eventually(t, func() bool {
		st, err := c.Stat(ctxFor(t))
		if err != nil {
			return false
		}
		last = st
		return ok(st)
	}, waitFor, tick)
	require.True(t, ok2, "last status: %+v", last)
	return last
}

// requireNothingLeft requires that no guest domain and no xenstore tree of
// one is left, and that xenstore is consistent.
func (e *env) requireNothingLeft(t *testing.T) {
	t.Helper()
	ctx := ctxFor(t)
	require.Eventually(t, func() bool {
		doms, err := e.hv.ListDomains(ctx)
		return err == nil && len(doms) == 1 && doms[0].ID == hypervisor.Dom0
	}, waitFor, tick, "domains left")
	for _, c := range []struct {
		dir  string
		want []string
	}{{"/local/domain", []string{"0"}}, {"/vm", nil},
		{"/local/domain/0/backend/vbd", nil}, {"/local/domain/0/backend/vif", nil}} {
		names, err := e.xs.Directory(ctx, c.dir)
		if errdefs.IsNotFound(err) {
			continue
		}
		require.NoError(t, err)
		require.ElementsMatch(t, c.want, names, "under %s", c.dir)
	}
	out, err := e.xs.Control(ctx, "check")
	require.NoError(t, err)
	require.Equal(t, "OK", out)
}

// eventuallyNothingLeft waits until nothing of a guest is left, for the
// cleanups the VM actor runs by itself (no task to wait for), then
// requires it as requireNothingLeft does.
func (e *env) eventuallyNothingLeft(t *testing.T) {
	t.Helper()
	ctx := ctxFor(t)
	empty := func(dir string, want ...string) bool {
		names, err := e.xs.Directory(ctx, dir)
		if errdefs.IsNotFound(err) {
			return len(want) == 0
		}
		return err == nil && len(names) == len(want) && (len(want) == 0 || names[0] == want[0])
	}
	require.Eventually(t, func() bool {
		return empty("/local/domain", "0") && empty("/vm") && empty("/local/domain/0/backend/vbd") &&
			empty("/local/domain/0/backend/vif")
	}, waitFor, tick, "xenstore trees left")
	e.requireNothingLeft(t)
}
