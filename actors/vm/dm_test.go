package vm_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/testenv"
)

// dmWait bounds the waits on QEMU, slower than the simulated host.
const dmWait = 20 * time.Second

// recordingLauncher is the QEMU launcher that remembers the device models
// it started and adopted, for the test to look at them: QEMU takes one
// QMP client at a time, the VM actor's.
type recordingLauncher struct {
	devicemodel.QEMU
	mu     sync.Mutex
	models []*devicemodel.DM
}

func (l *recordingLauncher) Start(ctx context.Context, domid hypervisor.DomID, uuid string) (devicemodel.Model, error) {
	m, err := l.QEMU.Start(ctx, domid, uuid)
	if err == nil {
		l.add(m.(*devicemodel.DM))
	}
	return m, err
}

func (l *recordingLauncher) Adopt(ctx context.Context, domid hypervisor.DomID, uuid string) (devicemodel.Model, error) {
	m, err := l.QEMU.Adopt(ctx, domid, uuid)
	if err == nil {
		l.add(m.(*devicemodel.DM))
	}
	return m, err
}

func (l *recordingLauncher) add(m *devicemodel.DM) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.models = append(l.models, m)
}

// last returns the latest device model, nil if none.
func (l *recordingLauncher) last() *devicemodel.DM {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.models) == 0 {
		return nil
	}
	return l.models[len(l.models)-1]
}

func (l *recordingLauncher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.models)
}

// newLauncher returns a launcher of QEMU device models with a short run
// directory; every QEMU still running at the end of the test is killed.
func newLauncher(t *testing.T) *recordingLauncher {
	t.Helper()
	bin := requireQEMU(t)
	dir, err := os.MkdirTemp("", "x")
	require.NoError(t, err)
	l := &recordingLauncher{QEMU: devicemodel.QEMU{Config: devicemodel.Config{RunDir: dir, Binary: bin,
		ReadyTimeout: dmWait, StopGrace: 2 * time.Second}}}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, m := range l.models {
			_ = syscall.Kill(m.Pid(), syscall.SIGKILL)
		}
		for _, m := range l.models {
			<-m.Done()
		}
		os.RemoveAll(dir)
	})
	return l
}

func requireQEMU(t *testing.T) string {
	t.Helper()
	return testenv.RequireExternal(t, "qemu-system-x86_64")["qemu-system-x86_64"]
}

func hvmSpec() vm.Spec {
	spec := newSpec("sim:hvm-nopv")
	spec.Type = hypervisor.DomainTypeHVM
	return spec
}

func dmStatus(t *testing.T, m *devicemodel.DM) string {
	t.Helper()
	st, err := m.Status(ctxFor(t))
	require.NoError(t, err)
	return st
}

// requireDMGone requires that the device model's process ended and its
// socket and pid file are gone.
func requireDMGone(t *testing.T, m *devicemodel.DM) {
	t.Helper()
	select {
	case <-m.Done():
	case <-time.After(dmWait):
		t.Fatal("device model still running")
	}
	require.Eventually(t, func() bool { return !processAlive(m.Pid()) }, dmWait, tick)
	require.NoFileExists(t, m.Files().QMP)
	require.NoFileExists(t, m.Files().PidFile)
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func TestVMActor_HVM_DeviceModelFollowsTheDomain(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	c := e.spawnVM(t, hvmSpec(), func(cfg *vm.Config) { cfg.DeviceModels = l })
	ctx := ctxFor(t)

	id, err := c.Start(ctx, true)
	e.succeed(t, id, err)
	m := l.last()
	require.NotNil(t, m, "no device model started")
	require.Equal(t, "paused", dmStatus(t, m), "a VM started paused has its device model stopped")
	pid, err := os.ReadFile(m.Files().PidFile)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(m.Pid()), strings.Fields(string(pid))[0], "the pid, then its start time")

	id, err = c.Unpause(ctx)
	e.succeed(t, id, err)
	require.Equal(t, "running", dmStatus(t, m))
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })

	id, err = c.Pause(ctx)
	e.succeed(t, id, err)
	require.Equal(t, "paused", dmStatus(t, m))
	id, err = c.Unpause(ctx)
	e.succeed(t, id, err)
	require.Equal(t, "running", dmStatus(t, m))

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	requireDMGone(t, m)
	e.requireNothingLeft(t)
	require.Equal(t, 1, l.count())
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.NoError(t, st.LastError)
}

func TestVMActor_HVM_NoDeviceModelForPV(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	c := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) { cfg.DeviceModels = l })
	domid := startRunning(t, e, c)
	require.NotZero(t, domid)
	require.Zero(t, l.count())
	id, err := c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
}

func TestVMActor_HVM_DeviceModelKilled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		onCrash vm.Action
	}{{"destroy", vm.ActionDestroy}, {"restart", vm.ActionRestart}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			l := newLauncher(t)
			spec := hvmSpec()
			spec.OnCrash = tc.onCrash
			c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l })
			ctx := ctxFor(t)
			id, err := c.Start(ctx, false)
			e.succeed(t, id, err)
			first := l.last()
			require.NotNil(t, first)
			st, err := c.Stat(ctx)
			require.NoError(t, err)
			domid := st.DomID

			require.NoError(t, syscall.Kill(first.Pid(), syscall.SIGKILL))
			requireDMGone(t, first)
			if tc.onCrash == vm.ActionDestroy {
				// The domain is gone before the crash's operation ends and records why.
				st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted && st.LastError != nil })
				require.ErrorContains(t, st.LastError, "device model exited")
				require.ErrorContains(t, st.LastError, "killed")
				e.eventuallyNothingLeft(t)
				require.Equal(t, 1, l.count())
				return
			}
			st = eventuallyDM(t, c, func(st *vm.VMStatus) bool {
				return st.PowerState == vm.Running && st.DomID != domid && l.count() == 2 &&
					st.LastError != nil // set when the restart's operation ended
			})
			require.ErrorContains(t, st.LastError, "device model exited")
			second := l.last()
			require.NotEqual(t, first.Pid(), second.Pid())
			require.Equal(t, "running", dmStatus(t, second))
			// A destroyed domain may show as dying for a while.
			require.Eventually(t, func() bool {
				_, err := e.hv.DomainInfo(ctx, domid)
				return err != nil
			}, waitFor, tick, "the crashed domain is gone")

			id, err = c.Shutdown(ctx, true)
			e.succeed(t, id, err)
			requireDMGone(t, second)
			e.requireNothingLeft(t)
		})
	}
}

// eventuallyDM is eventuallyStatus with the patience QEMU needs.
func eventuallyDM(t *testing.T, c vm.Client, ok func(*vm.VMStatus) bool) *vm.VMStatus {
	t.Helper()
	var last *vm.VMStatus
	require.Eventually(t, func() bool {
		st, err := c.Stat(ctxFor(t))
		if err != nil {
			return false
		}
		last = st
		return ok(st)
	}, dmWait, tick, "last status: %+v", &last)
	return last
}

func TestVMActor_HVM_DeviceModelNeverReady(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	script := filepath.Join(t.TempDir(), "fake-qemu")
	marker := filepath.Join(l.Config.RunDir, "fake.pid")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+marker+"\nexec sleep 60\n"), 0o755))
	l.Config.Binary, l.Config.ReadyTimeout = script, 300*time.Millisecond
	c := e.spawnVM(t, hvmSpec(), func(cfg *vm.Config) { cfg.DeviceModels = l })

	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "timeout", task.ErrorKind, task.Error)
	require.Contains(t, task.Error, "device model")
	e.requireNothingLeft(t)
	b, err := os.ReadFile(marker)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.False(t, processAlive(pid), "the device model that never got ready is still running")
	entries, err := os.ReadDir(l.Config.RunDir)
	require.NoError(t, err)
	for _, en := range entries {
		require.Equal(t, "fake.pid", en.Name(), "left in the run directory")
	}
}

func TestVMActor_HVM_AdoptDeviceModel(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	spec := hvmSpec()
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l })
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)
	first := l.last()
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	domid := st.DomID
	e.stopVM(t, c)
	require.True(t, processAlive(first.Pid()), "the device model outlives the VM actor")

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l; cfg.AdoptDomID = domid })
	eventuallyDM(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && st.DomID == domid && l.count() == 2
	})
	adopted := l.last()
	require.Equal(t, first.Pid(), adopted.Pid())
	require.Equal(t, "running", dmStatus(t, adopted))

	// The adopted device model's death is seen as well.
	require.NoError(t, syscall.Kill(adopted.Pid(), syscall.SIGKILL))
	st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.LastError != nil && st.DomID != domid })
	require.ErrorContains(t, st.LastError, "device model exited")
	id, err = c.Shutdown(ctxFor(t), true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_HVM_AdoptWithoutDeviceModelIsACrash(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	spec := hvmSpec()
	spec.OnCrash = vm.ActionDestroy
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l })
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	e.stopVM(t, c)
	// The device model dies while no VM actor looks after the domain.
	first := l.last()
	require.NoError(t, syscall.Kill(first.Pid(), syscall.SIGKILL))
	requireDMGone(t, first)

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l; cfg.AdoptDomID = st.DomID })
	st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted && st.LastError != nil })
	require.ErrorContains(t, st.LastError, "device model exited")
	e.eventuallyNothingLeft(t)
}

func TestVMActor_HVM_HardRebootGetsANewDeviceModel(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	c := e.spawnVM(t, hvmSpec(), func(cfg *vm.Config) { cfg.DeviceModels = l })
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	first := l.last()

	id, err = c.Reboot(ctx, true)
	e.succeed(t, id, err)
	requireDMGone(t, first)
	require.Equal(t, 2, l.count())
	second := l.last()
	require.Equal(t, "running", dmStatus(t, second))
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.NoError(t, st.LastError, "a deliberate stop is no crash")

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	requireDMGone(t, second)
	e.requireNothingLeft(t)
}

// A domain gone while no VM actor looked after it leaves its device model
// running; the adoption's clean-up stops it.
func TestVMActor_HVM_DeviceModelOfAVanishedDomainIsStopped(t *testing.T) {
	e := newEnv(t)
	l := newLauncher(t)
	spec := hvmSpec()
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l })
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)
	first := l.last()
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	e.stopVM(t, c)
	require.NoError(t, e.hv.Destroy(ctxFor(t), st.DomID))
	require.True(t, processAlive(first.Pid()))

	c = e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.DeviceModels = l; cfg.AdoptDomID = st.DomID })
	eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted })
	requireDMGone(t, first)
	e.eventuallyNothingLeft(t)
}
