package vm_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// suspendableVGPU spawns v's VM with the helper at script, starts it and
// waits until its guest can suspend.
func (v *vgpuEnv) suspendableVGPU(t *testing.T, script string) (vm.Client, *vm.VMStatus) {
	t.Helper()
	helper := v.withHelper(t, script)
	return v.suspendable(t, v.spec, func(cfg *vm.Config) {
		cfg.DeviceModels, cfg.VGPUs = v.qemu, v.demus
		helper(cfg)
	})
}

// A helper that fails the vgpu step of a save fails the suspend within
// its step timeout and is gone; the guest suspended, so the domain is left
// shut down for suspend with LastError, and a destroy stops DEMU.
func TestVMActor_Suspend_VGPU_HostileHelper(t *testing.T) {
	for name, c := range map[string]struct {
		body, kind, msg string
	}{
		"dies at prepare:vgpu": {"echo suspend:; read x; echo prepare:vgpu; kill -9 $$", "unavailable", "exited"},
		"dies after the vGPU state": {"echo suspend:; read x; echo prepare:vgpu; read x; kill -9 $$", "unavailable",
			"exited without a result"},
		"hangs after the vGPU state": {"echo suspend:; read x; echo prepare:vgpu; read x; exec sleep 600", "timeout",
			"nor progress within 300ms"},
		"error at prepare:vgpu": {"echo suspend:; read x; echo prepare:vgpu; read x; echo error:demu is gone; exit 1",
			"unavailable", "demu is gone"},
		"no prepare:vgpu": {"echo suspend:; read x; echo result:xenguest; exit 0", "invalid",
			"without prepare:vgpu"},
		"prepare:vgpu twice": {"echo suspend:; read x; echo prepare:vgpu; read x; echo prepare:vgpu; exec sleep 600",
			"invalid", "its state is saved"},
	} {
		t.Run(name, func(t *testing.T) {
			v := newVGPUEnv(t, "sim:linux")
			script := emutest.Script(t, t.TempDir(), "emu-manager", c.body)
			vmc, before := v.suspendableVGPU(t, script)
			demu := v.demus.Last()
			ctx := ctxFor(t)
			path := filepath.Join(t.TempDir(), "vm.img")
			id, err := vmc.Suspend(ctx, path)
			require.NoError(t, err)
			task := v.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)
			require.Contains(t, task.Error, c.msg)
			requireHelperGone(t, script)
			requireDirHolds(t, filepath.Dir(path))

			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, before.DomID, st.DomID)
			require.Equal(t, vm.Shutdown, st.PowerState)
			require.Error(t, st.LastError)
			require.Contains(t, st.LastError.Error(), "left shut down for suspend")
			info, err := v.hv.DomainInfo(ctx, st.DomID)
			require.NoError(t, err)
			require.Equal(t, hypervisor.ShutdownSuspend, info.ShutdownReason)
			id, err = vmc.Destroy(ctx)
			v.succeed(t, id, err)
			requireDEMUGone(t, demu)
			v.requireNothingLeft(t)
		})
	}
}

// A helper that fails the vgpu step of a restore fails the resume within
// its step timeout and is gone; the new domain is torn down and the VM
// stays Suspended with its image. The saves, and the restores' xenguest
// step, are the project's helper's.
func TestVMActor_Resume_VGPU_HostileHelper(t *testing.T) {
	real := emutest.BuildHelper(t)
	for name, c := range map[string]struct {
		body, kind, msg string
	}{
		// The real helper restores xenguest's part, and waits for
		// restore:vgpu, which the script reads instead of it.
		// Its group is killed when the script dies: the helper may see
		// its control channel close first.
		"dies at restore:vgpu": {`{ read x; echo "$x"; read y; kill -9 $$; } | '` + real + `' "$@"`,
			"unavailable", "exited without a result|the control channel closed"},
		"ignores restore:vgpu": {`{ read x; echo "$x"; read y; exec sleep 600; } | '` + real + `' "$@"`,
			"timeout", "nor progress within 300ms"},
		"closes at restore:vgpu": {`{ read x; echo "$x"; read y; } | '` + real + `' "$@"`,
			"unavailable", `emu-manager failed: waiting for "restore:vgpu": the control channel closed`},
		// A helper that did not leave the image's offset after xenguest's
		// part: the states are not found there.
		"leaves the offset": {`read x; echo result:xenguest 1 2 3 4; exec sleep 600`, "invalid",
			"after xenguest's part: a header record after the image's end"},
	} {
		t.Run(name, func(t *testing.T) {
			v := newVGPUEnv(t, "sim:linux")
			body := "case \" $* \" in *' -mode hvm_save '*) exec '" + real + "' \"$@\";; esac\n" + c.body
			script := emutest.Script(t, t.TempDir(), "emu-manager", body)
			vmc, _ := v.suspendableVGPU(t, script)
			ctx := ctxFor(t)
			path := suspend(t, v.env, vmc)

			id, err := vmc.Resume(ctx, false)
			require.NoError(t, err)
			task := v.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)
			require.Regexp(t, c.msg, task.Error)
			require.Contains(t, task.Error, "restore domain")
			requireHelperGone(t, script)
			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Suspended, st.PowerState)
			require.Equal(t, path, st.SuspendImage)
			require.FileExists(t, path)
			v.requireNothingLeft(t)

			id, err = vmc.Destroy(ctx)
			v.succeed(t, id, err)
			require.NoFileExists(t, path)
		})
	}
}
