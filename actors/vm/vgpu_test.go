package vm_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/vgpu/demu"
	"github.com/xenactor/xenactor/hostio/vgpu/vgputest"
)

// orderLauncher is the QEMU launcher that notes, at each start, whether
// the domain's DEMU was already running and answering.
type orderLauncher struct {
	*recordingLauncher
	demus *vgputest.Launcher
	mu    sync.Mutex
	first []bool
}

func (l *orderLauncher) Start(ctx context.Context, domid hypervisor.DomID, uuid string) (devicemodel.Model, error) {
	p := l.demus.Last()
	ready := p != nil && p.Device().DomID == domid && p.Health(ctx) == nil
	if ready {
		_, err := os.Stat(p.Files().PidFile)
		ready = err == nil
	}
	l.mu.Lock()
	l.first = append(l.first, ready)
	l.mu.Unlock()
	return l.recordingLauncher.Start(ctx, domid, uuid)
}

func (l *orderLauncher) demuFirst() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bool(nil), l.first...)
}

// vgpuEnv is an HVM VM with one vGPU, its device models and DEMUs.
type vgpuEnv struct {
	*env
	qemu  *orderLauncher
	demus *vgputest.Launcher
	spec  vm.Spec
}

func newVGPUEnv(t *testing.T, kernel string) *vgpuEnv {
	t.Helper()
	e := newEnv(t)
	demus := vgputest.NewLauncher(t)
	spec := newSpec(kernel)
	spec.Type = hypervisor.DomainTypeHVM
	spec.VGPUs = []vm.VGPU{{DevID: 0, Type: "GRID T4-2Q", PhysicalAddress: "0000:81:00.0",
		UUID: "0a7f3c1e-5b2d-4e8f-9c6a-1d2e3f405162"}}
	return &vgpuEnv{env: e, qemu: &orderLauncher{recordingLauncher: newLauncher(t), demus: demus}, demus: demus,
		spec: spec}
}

func (v *vgpuEnv) spawn(t *testing.T, tune func(*vm.Config)) vm.Client {
	t.Helper()
	return v.spawnVM(t, v.spec, func(cfg *vm.Config) {
		cfg.DeviceModels, cfg.VGPUs = v.qemu, v.demus
		if tune != nil {
			tune(cfg)
		}
	})
}

func query(t *testing.T, p *vgpu.Process) demu.State {
	t.Helper()
	st, err := p.Query(ctxFor(t))
	require.NoError(t, err)
	return st
}

// requireDEMUGone requires that DEMU ended and its files are gone.
func requireDEMUGone(t *testing.T, p *vgpu.Process) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case <-p.Done():
			return !processAlive(p.Pid())
		default:
			return false
		}
	}, dmWait, tick, "DEMU still running")
	require.NoFileExists(t, p.Files().Control)
	require.NoFileExists(t, p.Files().PidFile)
}

func TestVMActor_VGPU_DEMUStartsBeforeTheDeviceModel(t *testing.T) {
	v := newVGPUEnv(t, "sim:hvm-nopv")
	c := v.spawn(t, nil)
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	v.succeed(t, id, err)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)

	require.Equal(t, []bool{true}, v.qemu.demuFirst(), "DEMU runs and answers when the device model starts")
	p := v.demus.Last()
	require.NotNil(t, p)
	s := query(t, p)
	require.Equal(t, int(st.DomID), s.Domain)
	require.Equal(t, "GRID T4-2Q", s.Type)
	require.Equal(t, "0000:81:00.0", s.GPU)
	require.EqualValues(t, 2<<30, s.FramebufferBytes)
	require.Equal(t, "running", dmStatus(t, v.qemu.last()))

	id, err = c.Shutdown(ctx, true)
	v.succeed(t, id, err)
	requireDEMUGone(t, p)
	requireDMGone(t, v.qemu.last())
	v.requireNothingLeft(t)
	st, err = c.Stat(ctx)
	require.NoError(t, err)
	require.NoError(t, st.LastError, "a deliberate stop is no crash")
}

func TestVMActor_VGPU_StateTravelsInTheSuspendImage(t *testing.T) {
	t.Run("local", func(t *testing.T) { testVGPUSuspendResume(t, vgpuSaveLocal) })
	// Over hvremote the restore streams its reader to the server: only
	// the domain's image may go there, the emulator records stay behind.
	t.Run("remote hypervisor", func(t *testing.T) { testVGPUSuspendResume(t, vgpuSaveRemote) })
	// The save/restore helper asks for DEMU's state with prepare:vgpu and
	// hands over with restore:vgpu: the image is the same.
	t.Run("emu-manager", func(t *testing.T) { testVGPUSuspendResume(t, vgpuSaveHelper) })
}

// How testVGPUSuspendResume saves and restores.
const (
	vgpuSaveLocal = iota
	vgpuSaveRemote
	vgpuSaveHelper
)

func testVGPUSuspendResume(t *testing.T, how int) {
	v := newVGPUEnv(t, "sim:linux")
	var tune func(*vm.Config)
	var runs string
	switch how {
	case vgpuSaveHelper:
		// The helper leaves a mark of each run, then does its job.
		dir := t.TempDir()
		runs = filepath.Join(dir, "runs")
		wrapper := emutest.Script(t, dir, "emu-manager", `echo "$*" >> runs; exec '`+emutest.BuildHelper(t)+`' "$@"`)
		tune = v.withHelper(t, wrapper)
	case vgpuSaveRemote:
		dir, err := os.MkdirTemp("", "h")
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		socks, err := v.h.ServeSockets(dir, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = socks.Close() })
		hv, err := hvremote.Dial(ctxFor(t), socks.Hypervisor)
		require.NoError(t, err)
		t.Cleanup(func() { _ = hv.Close() })
		tune = func(cfg *vm.Config) { cfg.Hypervisor = hv }
	}
	c := v.spawn(t, tune)
	ctx := ctxFor(t)
	domid := startRunning(t, v.env, c)
	waitFeatureSuspend(t, v.env, domid)
	first := v.demus.Last()
	_, err := first.Control().Execute(ctx, "vgpu-frame", map[string]int{"count": 5})
	require.NoError(t, err)

	path := suspend(t, v.env, c) // the image is the only file: no state beside it
	requireDEMUGone(t, first)
	requireDMGone(t, v.qemu.last())

	// The state follows the domain's image as a record.
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	br := bufio.NewReader(f)
	_, err = io.Copy(io.Discard, hypervisor.ImageReader(br))
	require.NoError(t, err)
	typ, body, err := hypervisor.ReadRecord(br)
	require.NoError(t, err)
	require.Equal(t, hypervisor.RecordEmulatorState, typ)
	var rec hypervisor.EmulatorState
	require.NoError(t, rec.UnmarshalBinary(body))
	require.Equal(t, "demu", rec.Emulator)
	require.Contains(t, string(rec.Data), `"frames":5`)

	id, err := c.Resume(ctx, false)
	v.succeed(t, id, err)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	second := v.demus.Last()
	require.NotEqual(t, first.Pid(), second.Pid())
	s := query(t, second)
	require.True(t, s.Resumed)
	require.EqualValues(t, 5, s.Frames, "the counter survived the suspend")
	require.Equal(t, int(st.DomID), s.Domain)
	require.Equal(t, []bool{true, true}, v.qemu.demuFirst())
	if runs != "" {
		b, err := os.ReadFile(runs)
		require.NoError(t, err)
		require.Regexp(t, `^-mode hvm_save .* -dm vgpu\n-mode hvm_restore .* -dm vgpu\n$`, string(b))
	}

	id, err = c.Shutdown(ctx, true)
	v.succeed(t, id, err)
	requireDEMUGone(t, second)
	v.requireNothingLeft(t)
}

func TestVMActor_VGPU_DEMUKilled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		onCrash vm.Action
	}{{"destroy", vm.ActionDestroy}, {"restart", vm.ActionRestart}} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVGPUEnv(t, "sim:hvm-nopv")
			v.spec.OnCrash = tc.onCrash
			c := v.spawn(t, nil)
			ctx := ctxFor(t)
			id, err := c.Start(ctx, false)
			v.succeed(t, id, err)
			st, err := c.Stat(ctx)
			require.NoError(t, err)
			domid := st.DomID
			first, qemu := v.demus.Last(), v.qemu.last()

			require.NoError(t, syscall.Kill(first.Pid(), syscall.SIGKILL))
			requireDEMUGone(t, first)
			if tc.onCrash == vm.ActionDestroy {
				// The domain is gone before the crash's operation ends and records why.
				st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted && st.LastError != nil })
				require.ErrorContains(t, st.LastError, "vGPU 0 emulator (DEMU)")
				require.ErrorContains(t, st.LastError, "killed")
				requireDMGone(t, qemu)
				v.eventuallyNothingLeft(t)
				require.Len(t, v.demus.Processes(), 1)
				return
			}
			st = eventuallyDM(t, c, func(st *vm.VMStatus) bool {
				return st.PowerState == vm.Running && st.DomID != domid && len(v.demus.Processes()) == 2 &&
					st.LastError != nil // set when the restart's operation ended
			})
			require.ErrorContains(t, st.LastError, "vGPU 0 emulator (DEMU)")
			second := v.demus.Last()
			require.Equal(t, int(st.DomID), query(t, second).Domain)
			require.False(t, query(t, second).Resumed, "a restart starts afresh")
			requireDMGone(t, qemu)

			id, err = c.Shutdown(ctx, true)
			v.succeed(t, id, err)
			requireDEMUGone(t, second)
			v.requireNothingLeft(t)
		})
	}
}

func TestVMActor_VGPU_AdoptDEMU(t *testing.T) {
	v := newVGPUEnv(t, "sim:hvm-nopv")
	c := v.spawn(t, nil)
	id, err := c.Start(ctxFor(t), false)
	v.succeed(t, id, err)
	first := v.demus.Last()
	_, err = first.Control().Execute(ctxFor(t), "vgpu-frame", map[string]int{"count": 2})
	require.NoError(t, err)
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	domid := st.DomID
	v.stopVM(t, c)
	require.True(t, processAlive(first.Pid()), "DEMU outlives the VM actor")

	c = v.spawn(t, func(cfg *vm.Config) { cfg.AdoptDomID = domid })
	eventuallyDM(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && st.DomID == domid && len(v.demus.Processes()) == 2
	})
	adopted := v.demus.Last()
	require.Equal(t, first.Pid(), adopted.Pid())
	require.EqualValues(t, 2, query(t, adopted).Frames, "the same emulator, not a new one")

	// The adopted DEMU's death is seen as well.
	require.NoError(t, syscall.Kill(adopted.Pid(), syscall.SIGKILL))
	st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.LastError != nil && st.DomID != domid })
	require.ErrorContains(t, st.LastError, "vGPU 0 emulator (DEMU)")
	id, err = c.Shutdown(ctxFor(t), true)
	v.succeed(t, id, err)
	v.requireNothingLeft(t)
}

func TestVMActor_VGPU_AdoptWithoutDEMUIsACrash(t *testing.T) {
	v := newVGPUEnv(t, "sim:hvm-nopv")
	v.spec.OnCrash = vm.ActionDestroy
	c := v.spawn(t, nil)
	id, err := c.Start(ctxFor(t), false)
	v.succeed(t, id, err)
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	v.stopVM(t, c)
	first := v.demus.Last()
	require.NoError(t, syscall.Kill(first.Pid(), syscall.SIGKILL))
	requireDEMUGone(t, first)

	c = v.spawn(t, func(cfg *vm.Config) { cfg.AdoptDomID = st.DomID })
	st = eventuallyDM(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Halted && st.LastError != nil })
	require.ErrorContains(t, st.LastError, "vGPU 0 emulator (DEMU)")
	requireDMGone(t, v.qemu.last())
	v.eventuallyNothingLeft(t)
}
