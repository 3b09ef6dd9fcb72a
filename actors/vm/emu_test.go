package vm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenbus"
)

// helperStepTimeout is the hostile helpers' step timeout.
const helperStepTimeout = 300 * time.Millisecond

// withHelper returns a tune that makes the VM run the helper at path,
// reaching e's hypervisor on its socket.
func (e *env) withHelper(t *testing.T, path string) func(*vm.Config) {
	t.Helper()
	sock := simtest.Serve(t, e.h).Hypervisor
	return func(cfg *vm.Config) {
		cfg.EmuManager = &vm.EmuManager{Path: path, Hypervisor: sock, StepTimeout: helperStepTimeout,
			AbortGrace: 200 * time.Millisecond}
	}
}

// requireHelperGone requires that the script at path ran and that nothing
// of its process group is left (zombies of its killed children aside, which
// only their new parent can reap).
func requireHelperGone(t *testing.T, path string) {
	t.Helper()
	pid := emutest.ScriptPID(path)
	require.NotZero(t, pid, "the helper ran")
	// The group was sent SIGKILL; the kernel ends its processes soon after.
	require.Eventually(t, func() bool { return !emutest.GroupAlive(pid) }, waitFor, tick,
		"a process of the helper's group is left")
}

// Suspend and resume through the project's helper, a process of its own
// that reaches the hypervisor over its socket.
func TestVMActor_SuspendResume_EmuManager(t *testing.T) {
	e := newEnv(t)
	helper := emutest.BuildHelper(t)
	c, before := e.suspendable(t, newSpec("sim:linux"), e.withHelper(t, helper))
	ctx := ctxFor(t)
	require.NoError(t, e.h.Sim().WritePage(ctx, before.DomID, 7, []byte("the guest's own data")))

	path := suspend(t, e, c)

	id, err := c.Resume(ctx, false)
	task := e.succeed(t, id, err)
	require.InDelta(t, 1.0, task.Progress, 1e-9)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	require.NotEqual(t, before.DomID, st.DomID)
	page, err := e.h.Sim().ReadPage(ctx, st.DomID, 7)
	require.NoError(t, err)
	require.Equal(t, "the guest's own data", string(page[:20]))
	require.NoFileExists(t, path)

	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A helper that fails a suspend fails it within its step timeout and is
// gone. Before it asked for the suspend the VM runs on, untouched; after,
// its domain is left shut down for suspend with LastError, for a destroy.
func TestVMActor_Suspend_HostileHelper(t *testing.T) {
	for name, c := range map[string]struct {
		body      string
		kind, msg string
		suspended bool
	}{
		"exits at once":  {"exit 1", "unavailable", "exited without a result (exit status 1)", false},
		"never prints":   {"sleep 600 & wait", "timeout", "nor progress within 300ms", false},
		"garbage":        {"echo garbage; exec sleep 600", "invalid", `not a protocol line: "garbage"`, false},
		"error":          {"echo error:no space for the image; exit 1", "unavailable", "no space for the image", false},
		"hangs at done":  {"echo suspend:; read x; exec sleep 600", "timeout", "nor progress within 300ms", true},
		"error at done":  {"echo suspend:; read x; echo error:save failed; exit 1", "unavailable", "save failed", true},
		"dies at done":   {"echo suspend:; read x; kill -9 $$", "unavailable", "exited without a result", true},
		"garbage result": {"echo suspend:; read x; echo suspend:", "invalid", `printed "suspend:", expected prepare: or result`, true},
		"prepare:vgpu":   {"echo suspend:; read x; echo prepare:vgpu; exec sleep 600", "invalid", "the VM has no vGPU", true},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			script := emutest.Script(t, t.TempDir(), "emu-manager", c.body)
			vmc, before := e.suspendable(t, newSpec("sim:linux"), e.withHelper(t, script))
			ctx := ctxFor(t)
			path := filepath.Join(t.TempDir(), "vm.img")
			id, err := vmc.Suspend(ctx, path)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)
			require.Contains(t, task.Error, c.msg)
			requireHelperGone(t, script)
			requireDirHolds(t, filepath.Dir(path))

			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, before.DomID, st.DomID)
			if !c.suspended {
				require.Equal(t, vm.Running, st.PowerState)
				require.NoError(t, st.LastError)
				require.Contains(t, task.Error, "the guest was not asked")
				ok, err := e.xs.Exists(ctx, "/local/domain/"+st.DomID.String()+"/control/shutdown")
				require.NoError(t, err)
				require.False(t, ok, "the guest was not asked")
				id, err = vmc.Shutdown(ctx, false)
				e.succeed(t, id, err)
			} else {
				require.Equal(t, vm.Shutdown, st.PowerState)
				require.Error(t, st.LastError)
				require.Contains(t, st.LastError.Error(), "left shut down for suspend")
				info, err := e.hv.DomainInfo(ctx, st.DomID)
				require.NoError(t, err)
				require.Equal(t, hypervisor.ShutdownSuspend, info.ShutdownReason)
				id, err = vmc.Destroy(ctx)
				e.succeed(t, id, err)
			}
			e.requireNothingLeft(t)
		})
	}
}

// A cancelled suspend aborts the helper: while the guest is asked, the
// VM runs on; the helper is gone.
func TestVMActor_Suspend_HelperCancelled(t *testing.T) {
	e := newEnv(t)
	// The helper records the toolstack's command before it exits.
	dir := t.TempDir()
	script := emutest.Script(t, dir, "emu-manager", `echo suspend:; read x; echo "$x" > got; exit 1`)
	c, before := e.suspendable(t, newSpec("sim:hostile-noack"), func(cfg *vm.Config) {
		e.withHelper(t, script)(cfg)
		cfg.AckTimeout = time.Minute
	})
	ctx := ctxFor(t)
	path := filepath.Join(t.TempDir(), "vm.img")
	id, err := c.Suspend(ctx, path)
	require.NoError(t, err)
	node := "/local/domain/" + before.DomID.String() + "/control/shutdown"
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctx, node)
		return err == nil && string(v) == "suspend"
	}, waitFor, tick, "the guest is asked")
	require.NoError(t, e.tasks.Cancel(ctx, id))
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	requireHelperGone(t, script)
	got, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "abort\n", string(got))
	requireDirHolds(t, filepath.Dir(path))
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A helper that fails a resume fails it within its step timeout and is
// gone; the new domain is torn down and the VM stays Suspended with its
// image. The saves are the project's helper's.
func TestVMActor_Resume_HostileHelper(t *testing.T) {
	real := emutest.BuildHelper(t)
	for name, c := range map[string]struct {
		body, kind, msg string
	}{
		"exits at once":    {"exit 1", "unavailable", "exited"},
		"never prints":     {"sleep 600 & wait", "timeout", "nor progress within 300ms"},
		"garbage":          {"read x; echo '{}'", "invalid", "not a protocol line"},
		"error":            {"read x; echo error:bad image; exit 1", "unavailable", "bad image"},
		"bad result":       {"read x; echo result:xenguest 1 2; exit 0", "invalid", "want \"xenguest\""},
		"hangs at result":  {"read x; echo result:xenguest 1 2 3 4; exec sleep 600", "timeout", "did not exit"},
		"fails at result":  {"read x; echo result:xenguest 1 2 3 4; exit 3", "unavailable", "exit status 3"},
		"ignores restore:": {"read x; exec sleep 600", "timeout", "nor progress within"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			// Saves run the real helper; restores the hostile body.
			body := "case \" $* \" in *' -mode save '*) exec '" + real + "' \"$@\";; esac\n" + c.body
			script := emutest.Script(t, t.TempDir(), "emu-manager", body)
			vmc, _ := e.suspendable(t, newSpec("sim:linux"), e.withHelper(t, script))
			ctx := ctxFor(t)
			path := suspend(t, e, vmc)

			id, err := vmc.Resume(ctx, false)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)
			require.Contains(t, task.Error, c.msg)
			require.True(t, strings.Contains(task.Error, "restore domain"), task.Error)
			requireHelperGone(t, script)
			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Suspended, st.PowerState)
			require.Equal(t, path, st.SuspendImage)
			require.FileExists(t, path)
			e.requireNothingLeft(t)

			id, err = vmc.Destroy(ctx)
			e.succeed(t, id, err)
			require.NoFileExists(t, path)
		})
	}
}

// An HVM guest's save and restore run the helper in the HVM modes, as
// xenopsd runs emu-manager.
func TestVMActor_SuspendResume_EmuManager_HVMModes(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	helper := emutest.BuildHelper(t)
	wrapper := emutest.Script(t, dir, "emu-manager", `echo "$1 $2" >> modes; exec '`+helper+`' "$@"`)
	spec := newSpec("sim:linux")
	spec.Type = hypervisor.DomainTypeHVM
	c, _ := e.suspendable(t, spec, e.withHelper(t, wrapper))
	ctx := ctxFor(t)
	suspend(t, e, c)
	id, err := c.Resume(ctx, false)
	e.succeed(t, id, err)
	modes, err := os.ReadFile(filepath.Join(dir, "modes"))
	require.NoError(t, err)
	require.Equal(t, "-mode hvm_save\n-mode hvm_restore\n", string(modes))
	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
