package api_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
	"github.com/xenactor/xenactor/messages"
)

const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

type env struct {
	h          *sim.Host
	system     *actor.ActorSystem
	host       host.Client
	api        *actor.PID
	c          *client.Client
	suspendDir string
}

// newEnv starts a simulated host, a host actor and an api actor, tuned by
// tune, and a client of it through the in-process transport.
func newEnv(t *testing.T, tune func(*api.Config)) *env {
	t.Helper()
	h := simtest.NewHost(t)
	store, err := statedir.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	system := actortest.System(t)
	pid, err := system.Root.SpawnNamed(host.Props(host.Config{StateDir: store, Hypervisor: h.Hypervisor(),
		Dial: simtest.Dom0Dialer(h), Hotplug: h.Hotplug().Device(),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout, c.AckTimeout = 2*time.Second, time.Minute }}), "host")
	require.NoError(t, err)
	e := &env{h: h, system: system, host: host.NewClient(system, pid), suspendDir: filepath.Join(t.TempDir(), "suspend")}
	cfg := api.Config{Host: e.host, Hostname: "testhost", Hypervisor: "sim", SuspendDir: e.suspendDir,
		HostMemory: func(context.Context) (uint64, uint64, error) { return 1 << 20, 1 << 19, nil }}
	if tune != nil {
		tune(&cfg)
	}
	e.api, err = system.Root.SpawnNamed(api.Props(cfg), api.Name)
	require.NoError(t, err)
	e.c = client.New(client.InProcess(system, e.api))
	t.Cleanup(func() { _ = e.c.Close() })
	return e
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newSpec() *messages.VMSpec {
	uuid := newUUID()
	return &messages.VMSpec{Uuid: uuid, Name: "test-" + uuid[:8], Type: messages.DomainType_DOMAIN_TYPE_PV,
		Vcpus: 2, MemoryKib: 64 << 10, Kernel: "sim:linux", OnShutdown: messages.Action_ACTION_DESTROY,
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
}

// succeed returns a function that waits for the task of an operation and
// requires it completed: succeed(t)(e.c.StartVM(...)).
func succeed(t *testing.T) func(*client.Task, error) *messages.Task {
	return func(task *client.Task, err error) *messages.Task {
		t.Helper()
		require.NoError(t, err)
		done, err := task.Wait(ctxFor(t), nil)
		require.NoError(t, err)
		require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, done.State)
		return done
	}
}

// eventually waits until the status of uuid satisfies ok and returns it.
func (e *env) eventually(t *testing.T, uuid string, ok func(*messages.VMStatus) bool) *messages.VMStatus {
	t.Helper()
	var st *messages.VMStatus
	require.Eventually(t, func() bool {
		var err error
		st, err = e.c.StatVM(ctxFor(t), uuid)
		return err == nil && ok(st)
	}, waitFor, tick)
	return st
}

// connected reports whether st is in power state ps with the devices
// classes[i]/devids[i] all connected, and no others.
func connected(ps messages.PowerState, want ...string) func(*messages.VMStatus) bool {
	return func(st *messages.VMStatus) bool {
		if st.PowerState != ps || len(st.Devices) != len(want) {
			return false
		}
		for _, d := range st.Devices {
			if !slices.Contains(want, fmt.Sprintf("%s/%d", d.Class, d.Devid)) ||
				d.BackendState != xenbus.StateConnected.String() || d.FrontendState != xenbus.StateConnected.String() {
				return false
			}
		}
		return true
	}
}

func TestAPI_VMLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	spec := newSpec()
	uuid := spec.Uuid
	require.NoError(t, e.c.CreateVM(ctx, spec))
	require.True(t, errdefs.IsExists(e.c.CreateVM(ctx, spec)))

	list, err := e.c.ListVMs(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, uuid, list[0].Spec.Uuid)
	require.Equal(t, messages.PowerState_POWER_STATE_HALTED, list[0].PowerState)

	succeed(t)(e.c.StartVM(ctx, uuid, false))
	st := e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vif/0"))
	require.NotZero(t, st.Domid)
	require.True(t, proto.Equal(spec, st.Spec), "the spec in the status: %v", st.Spec)

	info, err := e.c.HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "testhost", info.Hostname)
	require.Equal(t, "sim", info.Hypervisor)
	require.Equal(t, api.Version, info.Version)
	require.EqualValues(t, 1, info.Vms)
	require.EqualValues(t, 1, info.VmsRunning)
	require.EqualValues(t, 1<<20, info.MemoryTotalKib)
	require.EqualValues(t, 1<<19, info.MemoryFreeKib)
	require.NotZero(t, info.StartedUnixNano)

	// Devices, plugged and unplugged.
	succeed(t)(e.c.PlugVBD(ctx, uuid, &messages.VBD{Devid: 51728, Params: "/dev/loop1"}))
	succeed(t)(e.c.PlugVIF(ctx, uuid, &messages.VIF{Devid: 1, Mac: "00:16:3e:00:00:02", Bridge: "xenbr0"}))
	st = e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vbd/51728", "vif/0",
		"vif/1"))
	require.Len(t, st.Spec.Vbds, 2, "the spec holds the plugged VBD")
	require.Len(t, st.Spec.Vifs, 2, "the spec holds the plugged VIF")
	succeed(t)(e.c.UnplugVBD(ctx, uuid, 51728, false))
	succeed(t)(e.c.UnplugVIF(ctx, uuid, 1, true))
	e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vif/0"))

	// Pause and unpause.
	succeed(t)(e.c.PauseVM(ctx, uuid))
	e.eventually(t, uuid, func(st *messages.VMStatus) bool {
		return st.PowerState == messages.PowerState_POWER_STATE_PAUSED
	})
	succeed(t)(e.c.UnpauseVM(ctx, uuid))
	e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vif/0"))

	// Memory target and vCPUs.
	require.Eventually(t, func() bool {
		st, err := e.c.StatVM(ctx, uuid)
		return err == nil && st.Guest != nil && slices.Contains(st.Guest.Features, "balloon")
	}, waitFor, tick, "the guest advertises a balloon")
	succeed(t)(e.c.SetMemoryTarget(ctx, uuid, 48<<10))
	succeed(t)(e.c.SetVCPUs(ctx, uuid, 1))
	// Beyond the spec's maximum, the task fails with the VM actor's kind.
	tooMany, err := e.c.SetVCPUs(ctx, uuid, 3)
	require.NoError(t, err)
	_, err = tooMany.Wait(ctx, nil)
	require.True(t, errdefs.IsInvalid(err), "%v", err)

	// Suspend to the daemon's directory, then resume.
	domid := st.Domid
	require.Eventually(t, func() bool {
		st, err := e.c.StatVM(ctx, uuid)
		return err == nil && st.Guest != nil && slices.Contains(st.Guest.Features, "suspend")
	}, waitFor, tick, "the guest advertises suspend")
	succeed(t)(e.c.SuspendVM(ctx, uuid, ""))
	st, err = e.c.StatVM(ctx, uuid)
	require.NoError(t, err)
	require.Equal(t, messages.PowerState_POWER_STATE_SUSPENDED, st.PowerState)
	require.Equal(t, filepath.Join(e.suspendDir, uuid+".img"), st.SuspendImage)
	_, err = os.Stat(st.SuspendImage)
	require.NoError(t, err)
	succeed(t)(e.c.ResumeVM(ctx, uuid, false))
	st = e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vif/0"))
	require.NotEqual(t, domid, st.Domid)
	require.Empty(t, st.SuspendImage)

	// Reboot (hard) gives a new domain; a clean shutdown halts the VM.
	domid = st.Domid
	succeed(t)(e.c.RebootVM(ctx, uuid, true))
	st = e.eventually(t, uuid, connected(messages.PowerState_POWER_STATE_RUNNING, "vbd/51712", "vif/0"))
	require.NotEqual(t, domid, st.Domid)
	succeed(t)(e.c.ShutdownVM(ctx, uuid, false))
	st, err = e.c.StatVM(ctx, uuid)
	require.NoError(t, err)
	require.Equal(t, messages.PowerState_POWER_STATE_HALTED, st.PowerState)

	// Start paused, then destroy.
	succeed(t)(e.c.StartVM(ctx, uuid, true))
	e.eventually(t, uuid, func(st *messages.VMStatus) bool {
		return st.PowerState == messages.PowerState_POWER_STATE_PAUSED
	})
	require.True(t, errdefs.IsBusy(e.c.RemoveVM(ctx, uuid)), "a VM with a domain is not removed")
	succeed(t)(e.c.DestroyVM(ctx, uuid))
	require.NoError(t, e.c.RemoveVM(ctx, uuid))
	_, err = e.c.StatVM(ctx, uuid)
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	// The VM's tasks, listed by subject.
	ts, err := e.c.Tasks(ctx, uuid)
	require.NoError(t, err)
	var kinds []string
	for _, task := range ts {
		kinds = append(kinds, task.Kind)
		if task.Id != tooMany.ID {
			require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, task.State, task.Kind)
		}
	}
	require.Contains(t, kinds, "VM.start")
	require.Contains(t, kinds, "VM.suspend")
	require.Contains(t, kinds, "VM.destroy")
}

func TestAPI_Tasks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	spec := newSpec()
	require.NoError(t, e.c.CreateVM(ctx, spec))
	task, err := e.c.StartVM(ctx, spec.Uuid, false)
	require.NoError(t, err)

	var polled []*messages.Task
	done, err := e.c.Wait(ctx, task.ID, func(t *messages.Task) { polled = append(polled, t) })
	require.NoError(t, err)
	require.Equal(t, task.ID, done.Id)
	require.Equal(t, "VM.start", done.Kind)
	require.Equal(t, spec.Uuid, done.Subject)
	require.NotZero(t, done.FinishedUnixNano)
	for _, p := range polled {
		require.Equal(t, messages.TaskState_TASK_STATE_PENDING, p.State)
	}

	got, err := e.c.Task(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, got.State)
	all, err := e.c.Tasks(ctx, "")
	require.NoError(t, err)
	require.Len(t, all, 1)

	// A finished task cannot be cancelled; it can be destroyed once.
	_, err = e.c.CancelTask(ctx, task.ID)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
	require.NoError(t, e.c.DestroyTask(ctx, task.ID))
	_, err = e.c.Task(ctx, task.ID)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.True(t, errdefs.IsNotFound(e.c.DestroyTask(ctx, task.ID)))
	_, err = e.c.Wait(ctx, "no-such-task", nil)
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	// A clean shutdown the guest never acknowledges is pending until
	// cancelled; its task then fails "canceled", which Wait returns.
	noack := newSpec()
	noack.Kernel = "sim:hostile-noack,crash=1h"
	require.NoError(t, e.c.CreateVM(ctx, noack))
	succeed(t)(e.c.StartVM(ctx, noack.Uuid, false))
	task, err = e.c.ShutdownVM(ctx, noack.Uuid, false)
	require.NoError(t, err)
	pending, err := e.c.WaitTask(ctx, task.ID, 20*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, messages.TaskState_TASK_STATE_PENDING, pending.State)
	require.True(t, errdefs.IsBusy(e.c.DestroyTask(ctx, task.ID)), "a pending task is not destroyed")
	cancelled, err := e.c.CancelTask(ctx, task.ID)
	require.NoError(t, err)
	require.True(t, cancelled.Cancelling)
	_, err = task.Wait(ctx, nil)
	require.True(t, errdefs.IsCanceled(err), "%v", err)
	var cerr *client.Error
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, "canceled", cerr.Kind)
}

func TestAPI_Events(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	first, err := e.c.NextEvents(ctx, 0, 10*time.Millisecond)
	require.NoError(t, err)
	// A poll with nothing new (no VM yet, so nothing reports) ends empty
	// after its timeout.
	quiet, err := e.c.NextEvents(ctx, first.Next, 10*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, quiet.Ids)
	require.False(t, quiet.Resync)
	spec := newSpec()
	require.NoError(t, e.c.CreateVM(ctx, spec))
	task := succeed(t)(e.c.StartVM(ctx, spec.Uuid, false))
	b, err := e.c.Barrier(ctx)
	require.NoError(t, err)

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ids []string
	for batch := range e.c.Events(fctx, first.Next) {
		ids = append(ids, batch.Ids...)
		if batch.Next >= b.Seq {
			break
		}
	}
	require.Contains(t, ids, "vm/"+spec.Uuid)
	require.Contains(t, ids, "task/"+task.Id)

	b2, err := e.c.Barrier(ctx)
	require.NoError(t, err)
	require.Greater(t, b2.Id, b.Id)

	// The channel closes when ctx ends.
	cancel()
	ch := e.c.Events(fctx, 0)
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	}, waitFor, tick)
}

func TestAPI_Daemons(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	ds, err := e.c.Daemons(ctx)
	require.NoError(t, err)
	require.Empty(t, ds)
	// Statuses the host is told of are listed.
	e.system.Root.Send(e.host.PID(), &host.DaemonChanged{Status: daemonStatus("ovsdb-server")})
	require.Eventually(t, func() bool {
		ds, err := e.c.Daemons(ctx)
		return err == nil && len(ds) == 1 && ds[0].Name == "ovsdb-server" && ds[0].State == "running" &&
			ds[0].Pid == 42
	}, waitFor, tick)
	info, err := e.c.HostInfo(ctx)
	require.NoError(t, err)
	require.Len(t, info.Daemons, 1)
}

// daemonStatus is the status of a running daemon name.
func daemonStatus(name string) daemons.Status {
	return daemons.Status{Name: name, State: daemons.StateRunning, Pid: 42}
}

func TestAPI_NotFound(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	uuid := newUUID()
	_, err := e.c.StatVM(ctx, uuid)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.Contains(t, err.Error(), uuid)
	for name, call := range map[string]func() (*client.Task, error){
		"start":    func() (*client.Task, error) { return e.c.StartVM(ctx, uuid, false) },
		"shutdown": func() (*client.Task, error) { return e.c.ShutdownVM(ctx, uuid, true) },
		"plug":     func() (*client.Task, error) { return e.c.PlugVBD(ctx, uuid, &messages.VBD{Devid: 51712, Params: "x"}) },
	} {
		_, err := call()
		require.True(t, errdefs.IsNotFound(err), "%s: %v", name, err)
	}
	require.True(t, errdefs.IsNotFound(e.c.RemoveVM(ctx, uuid)))
}

func TestAPI_ResetDaemon(t *testing.T) {
	var reset []string
	e := newEnv(t, func(c *api.Config) {
		c.ResetDaemon = func(_ context.Context, name string) error {
			if name != "ovs-vswitchd" {
				return fmt.Errorf("daemon %q: %w", name, errdefs.ErrNotFound)
			}
			reset = append(reset, name)
			return nil
		}
	})
	ctx := ctxFor(t)
	require.NoError(t, e.c.ResetDaemon(ctx, "ovs-vswitchd"))
	require.Equal(t, []string{"ovs-vswitchd"}, reset)
	require.True(t, errdefs.IsNotFound(e.c.ResetDaemon(ctx, "nope")))
	require.True(t, errdefs.IsInvalid(e.c.ResetDaemon(ctx, "")))

	without := newEnv(t, nil)
	require.True(t, errdefs.IsNotImplemented(without.c.ResetDaemon(ctx, "ovs-vswitchd")))
}

func TestAPI_Metrics(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxFor(t)
	const requests, duration = "xenactor_api_requests_total", "xenactor_api_request_duration_seconds"
	okBefore := telemetrytest.Value(t, requests, "op", "ListVMs", "result", "ok")
	missBefore := telemetrytest.Value(t, requests, "op", "StatVM", "result", "not_found")
	badBefore := telemetrytest.Value(t, requests, "op", "Unknown", "result", "invalid")
	timedBefore := telemetrytest.Value(t, duration, "op", "ListVMs")

	_, err := e.c.ListVMs(ctx)
	require.NoError(t, err)
	_, err = e.c.StatVM(ctx, newUUID())
	require.Error(t, err)
	require.NotNil(t, e.call(t, &messages.Request{}).GetError())

	require.Equal(t, okBefore+1, telemetrytest.Value(t, requests, "op", "ListVMs", "result", "ok"))
	require.Equal(t, missBefore+1, telemetrytest.Value(t, requests, "op", "StatVM", "result", "not_found"))
	require.Equal(t, badBefore+1, telemetrytest.Value(t, requests, "op", "Unknown", "result", "invalid"))
	require.Equal(t, timedBefore+1, telemetrytest.Value(t, duration, "op", "ListVMs"), "one more sample")
	require.Zero(t, telemetrytest.Value(t, "xenactor_api_in_flight_requests"), "nothing left in flight")
}

// call sends a raw request through the in-process transport.
func (e *env) call(t *testing.T, req *messages.Request) *messages.Response {
	t.Helper()
	resp, err := client.InProcess(e.system, e.api).Call(ctxFor(t), req)
	require.NoError(t, err)
	return resp
}

func TestAPI_Malformed(t *testing.T) {
	e := newEnv(t, nil)
	valid := newUUID()
	long := strings.Repeat("x", api.MaxStringBytes+1)
	bad := newSpec()
	bad.Vcpus = 0
	badEnum := newSpec()
	badEnum.Type = messages.DomainType(42)
	badAction := newSpec()
	badAction.OnCrash = messages.Action(-1)
	negVBD := newSpec()
	negVBD.Vbds[0].Devid = -1
	many := newSpec()
	for i := range api.MaxListLen + 1 {
		many.Vifs = append(many.Vifs, &messages.VIF{Devid: int32(i + 1)})
	}
	trace := map[string]string{}
	for i := range api.MaxListLen + 1 {
		trace[fmt.Sprint(i)] = "x"
	}
	for name, req := range map[string]*messages.Request{
		"no op":          {},
		"no spec":        {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{}}},
		"bad spec":       {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{Spec: bad}}},
		"bad enum":       {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{Spec: badEnum}}},
		"bad action":     {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{Spec: badAction}}},
		"negative devid": {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{Spec: negVBD}}},
		"too many VIFs":  {Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{Spec: many}}},
		"long name":      {Op: &messages.Request_StatVm{StatVm: &messages.StatVMRequest{Uuid: long}}},
		"big trace":      {Trace: trace, Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}},
		"missing uuid":   {Op: &messages.Request_StartVm{StartVm: &messages.StartVMRequest{}}},
		"malformed uuid": {Op: &messages.Request_StatVm{StatVm: &messages.StatVMRequest{Uuid: "../etc"}}},
		"nil VBD":        {Op: &messages.Request_PlugVbd{PlugVbd: &messages.PlugVBDRequest{Uuid: valid}}},
		"VBD without disk": {Op: &messages.Request_PlugVbd{PlugVbd: &messages.PlugVBDRequest{Uuid: valid,
			Vbd: &messages.VBD{Devid: 51712}}}},
		"VIF bad MAC": {Op: &messages.Request_PlugVif{PlugVif: &messages.PlugVIFRequest{Uuid: valid,
			Vif: &messages.VIF{Devid: 1, Mac: "ff:ff:ff:ff:ff:ff"}}}},
		"negative unplug devid": {Op: &messages.Request_UnplugVif{UnplugVif: &messages.UnplugVIFRequest{Uuid: valid,
			Devid: -1}}},
		"relative suspend path": {Op: &messages.Request_SuspendVm{SuspendVm: &messages.SuspendVMRequest{Uuid: valid,
			Path: "x.img"}}},
		"no task id":       {Op: &messages.Request_WaitTask{WaitTask: &messages.WaitTaskRequest{}}},
		"negative timeout": {Op: &messages.Request_NextEvents{NextEvents: &messages.NextEventsRequest{TimeoutMillis: -1}}},
		"zero vCPUs":       {Op: &messages.Request_SetVcpus{SetVcpus: &messages.SetVCPUsRequest{Uuid: valid}}},
		"zero memory":      {Op: &messages.Request_SetMemoryTarget{SetMemoryTarget: &messages.SetMemoryTargetRequest{Uuid: valid}}},
		"empty cancel id":  {Op: &messages.Request_CancelTask{CancelTask: &messages.CancelTaskRequest{}}},
	} {
		resp := e.call(t, req)
		require.NotNil(t, resp.Error, name)
		require.Equal(t, "invalid", resp.Error.Kind, "%s: %s", name, resp.Error.Message)
		require.NotEmpty(t, resp.Error.Message, name)
		require.Nil(t, resp.Result, name)
	}
	list, err := e.c.ListVMs(ctxFor(t))
	require.NoError(t, err)
	require.Empty(t, list, "no malformed spec was registered")
}
