package vm_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
)

// suspend suspends the running VM to a new image file in a fresh
// directory and requires it Suspended with nothing of its domain left.
func suspend(t *testing.T, e *env, c vm.Client) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vm.img")
	id, err := c.Suspend(ctxFor(t), path)
	e.succeed(t, id, err)
	st, err := c.Stat(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, vm.Suspended, st.PowerState)
	require.Equal(t, "Suspended", st.PowerState.String())
	require.Equal(t, path, st.SuspendImage)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	requireDirHolds(t, filepath.Dir(path), filepath.Base(path))
	e.requireNothingLeft(t)
	return path
}

// requireDirHolds requires that dir holds the files want and nothing else
// (no temporary file left).
func requireDirHolds(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := []string{}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, want, got)
}

// waitFeatureSuspend waits until the guest of domid advertised
// control/feature-suspend.
func waitFeatureSuspend(t *testing.T, e *env, domid hypervisor.DomID) {
	t.Helper()
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctxFor(t), "/local/domain/"+domid.String()+"/control/feature-suspend")
		return err == nil && string(v) == "1"
	}, waitFor, tick)
}

func TestVMActor_SuspendResume(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	old := startRunning(t, e, c)
	before, err := e.hv.DomainInfo(ctx, old)
	require.NoError(t, err)
	// What the guest has in memory comes back: the resume restores the
	// image rather than building a new domain.
	require.NoError(t, e.h.Sim().WritePage(ctx, old, 7, []byte("the guest's own data")))

	path := suspend(t, e, c)

	id, err := c.Resume(ctx, false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	require.Empty(t, st.SuspendImage)
	require.NotEqual(t, old, st.DomID)
	after, err := e.hv.DomainInfo(ctx, st.DomID)
	require.NoError(t, err)
	require.Equal(t, before.MemoryKiB, after.MemoryKiB)
	require.Equal(t, before.VCPUs, after.VCPUs)
	page, err := e.h.Sim().ReadPage(ctx, st.DomID, 7)
	require.NoError(t, err)
	require.Equal(t, "the guest's own data", string(page[:20]))
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "the image is removed after the resume")
	requireDirHolds(t, filepath.Dir(path))
	_, err = e.hv.DomainInfo(ctx, old)
	require.Error(t, err, "the old domain is gone")

	// The guest runs: it acknowledges a clean shutdown.
	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_ResumePaused(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	startRunning(t, e, c)
	suspend(t, e, c)

	id, err := c.Resume(ctx, true)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Paused && allDevices(st, xenbus.StateInitWait, xenbus.StateInitialising)
	})
	id, err = c.Unpause(ctx)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A guest that cannot suspend fails the suspend cleanly: the VM stays
// Running in its domain, the request is withdrawn and no image is made.
func TestVMActor_Suspend_GuestCannot(t *testing.T) {
	for _, c := range []struct {
		kernel, kind, msg string
	}{
		{"sim:hostile-noack", "timeout", "did not acknowledge"},
		{"sim:hvm-nopv", "not_implemented", "no control/feature-suspend"},
	} {
		t.Run(c.kernel, func(t *testing.T) {
			e := newEnv(t)
			spec := newSpec(c.kernel)
			if c.kernel == "sim:hvm-nopv" {
				spec.Type = hypervisor.DomainTypeHVM
			}
			vmc := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.AckTimeout = 300 * time.Millisecond })
			ctx := ctxFor(t)
			id, err := vmc.Start(ctx, false)
			e.succeed(t, id, err)
			before := eventuallyStatus(t, vmc, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })
			if c.kernel != "sim:hvm-nopv" {
				waitFeatureSuspend(t, e, before.DomID)
			}

			path := filepath.Join(t.TempDir(), "vm.img")
			id, err = vmc.Suspend(ctx, path)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, "VM.suspend", task.Kind)
			require.Contains(t, task.Error, c.msg)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)

			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Running, st.PowerState)
			require.Equal(t, before.DomID, st.DomID)
			ok, err := e.xs.Exists(ctx, "/local/domain/"+st.DomID.String()+"/control/shutdown")
			require.NoError(t, err)
			require.False(t, ok, "the request is withdrawn")
			requireDirHolds(t, filepath.Dir(path))

			id, err = vmc.Shutdown(ctx, true)
			e.succeed(t, id, err)
			e.requireNothingLeft(t)
		})
	}
}

// A suspend cancelled while it waits for the guest leaves the VM Running.
func TestVMActor_Suspend_Cancel(t *testing.T) {
	e := newEnv(t)
	c, before := e.suspendable(t, newSpec("sim:hostile-noack"), func(cfg *vm.Config) { cfg.AckTimeout = time.Minute })
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

	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	require.Equal(t, before.DomID, st.DomID)
	require.NoError(t, st.LastError)
	requireDirHolds(t, filepath.Dir(path))

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

func TestVMActor_Suspend_RefusesBadPaths(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.img")
	require.NoError(t, os.WriteFile(existing, []byte("someone else's"), 0o600))
	for path, kind := range map[string]string{
		"relative.img":                          "invalid",
		existing:                                "exists",
		filepath.Join(dir, "missing", "vm.img"): "not_found",
		filepath.Join(existing, "under-file.img"): "invalid",
	} {
		id, err := c.Suspend(ctx, path)
		require.NoError(t, err)
		task := e.wait(t, id)
		require.Equal(t, tasks.Failed, task.State, path)
		require.Equal(t, kind, task.ErrorKind, "%s: %s", path, task.Error)
	}
	data, err := os.ReadFile(existing)
	require.NoError(t, err)
	require.Equal(t, "someone else's", string(data))
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	require.Equal(t, domid, st.DomID)

	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A Suspended VM is not started (that would lose its memory); a destroy
// deletes its image and leaves it Halted.
func TestVMActor_Suspended_StartRefused_DestroyDeletesImage(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	startRunning(t, e, c)
	path := suspend(t, e, c)

	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "busy", task.ErrorKind)
	require.Contains(t, task.Error, "VM is Suspended: resume it or destroy it")
	id, err = c.Shutdown(ctx, false)
	require.NoError(t, err)
	task = e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "Suspended")
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Suspended, st.PowerState)
	require.FileExists(t, path)

	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	st, err = c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Halted, st.PowerState)
	require.Empty(t, st.SuspendImage)
	require.NoFileExists(t, path)
	e.requireNothingLeft(t)

	id, err = c.Resume(ctx, false)
	require.NoError(t, err)
	task = e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "invalid", task.ErrorKind)
}

// A resume that fails (a corrupt image) tears down what it made and
// leaves the VM Suspended with its image.
func TestVMActor_Resume_CorruptImage(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	startRunning(t, e, c)
	path := suspend(t, e, c)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, fi.Size()/2))

	id, err := c.Resume(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "restore domain")
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Suspended, st.PowerState)
	require.Equal(t, path, st.SuspendImage)
	require.FileExists(t, path)
	e.requireNothingLeft(t)

	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	require.NoFileExists(t, path)
}

// A resume cancelled while its devices plug tears down the new domain and
// leaves the VM Suspended; a second resume then succeeds.
func TestVMActor_Resume_Cancel(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	startRunning(t, e, c)
	path := suspend(t, e, c)

	e.h.Faults().SetBackendDelay(500 * time.Millisecond)
	id, err := c.Resume(ctx, false)
	require.NoError(t, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		if st.PowerState != vm.Paused || len(st.Devices) != 2 {
			return false
		}
		for _, d := range st.Devices {
			if d.BackendState == xenbus.StateUnknown {
				return false
			}
		}
		return true
	})
	task, err := e.tasks.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Pending, task.State, "the resume should still be plugging")
	require.NoError(t, e.tasks.Cancel(ctx, id))
	task = e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	e.h.Faults().SetBackendDelay(0)
	e.requireNothingLeft(t)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Suspended, st.PowerState)
	require.FileExists(t, path)

	id, err = c.Resume(ctx, false)
	e.succeed(t, id, err)
	eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	require.NoFileExists(t, path)
	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// Once the guest suspended there is no way back into its domain: a save
// that fails leaves the domain Shutdown with LastError saying so, and a
// destroy cleans it.
func TestVMActor_Suspend_SaveFailsAfterTheGuestSuspended(t *testing.T) {
	e := newEnv(t)
	// The test plays the guest: hostile-noack sees the request and leaves
	// it to us.
	c := e.spawnVM(t, newSpec("sim:hostile-noack"), nil)
	ctx := ctxFor(t)
	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })
	domid := st.DomID
	waitFeatureSuspend(t, e, domid)

	dir := filepath.Join(t.TempDir(), "images")
	require.NoError(t, os.Mkdir(dir, 0o700))
	id, err = c.Suspend(ctx, filepath.Join(dir, "vm.img"))
	require.NoError(t, err)
	node := "/local/domain/" + domid.String() + "/control/shutdown"
	require.Eventually(t, func() bool {
		v, err := e.xs.Read(ctx, node)
		return err == nil && string(v) == "suspend"
	}, waitFor, tick)
	require.NoError(t, os.Remove(dir)) // the save will have nowhere to go
	require.NoError(t, e.xs.Write(ctx, node, nil))
	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownSuspend))

	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "not_found", task.ErrorKind, task.Error)
	st = eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.LastError != nil })
	require.Equal(t, vm.Shutdown, st.PowerState)
	require.Equal(t, domid, st.DomID)
	require.Contains(t, st.LastError.Error(), "left shut down for suspend")

	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A guest that suspends by itself is left Shutdown, and LastError says so.
func TestVMActor_GuestSuspendsByItself(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	domid := startRunning(t, e, c)
	require.NoError(t, e.h.Sim().GuestShutdown(domid, hypervisor.ShutdownSuspend))
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.LastError != nil })
	require.Equal(t, vm.Shutdown, st.PowerState)
	require.Contains(t, st.LastError.Error(), "no suspend saved it")
	id, err := c.Destroy(ctxFor(t))
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// A hard shutdown does not queue behind a suspend that waits on the
// guest: it cancels it.
func TestVMActor_HardShutdownPreemptsSuspend(t *testing.T) {
	e := newEnv(t)
	c, _ := e.suspendable(t, newSpec("sim:hostile-noack"), func(cfg *vm.Config) { cfg.AckTimeout = time.Minute })
	ctx := ctxFor(t)

	path := filepath.Join(t.TempDir(), "vm.img")
	suspendID, err := c.Suspend(ctx, path)
	require.NoError(t, err)
	hard, err := c.Shutdown(ctx, true)
	require.NoError(t, err)
	task := e.wait(t, suspendID)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	e.succeed(t, hard, nil)
	require.NoFileExists(t, path)
	e.requireNothingLeft(t)
}

// suspendable spawns the VM of spec (tuned by tune), starts it and waits
// until it runs and its guest advertises feature-suspend.
func (e *env) suspendable(t *testing.T, spec vm.Spec, tune func(*vm.Config)) (vm.Client, *vm.VMStatus) {
	t.Helper()
	c := e.spawnVM(t, spec, tune)
	id, err := c.Start(ctxFor(t), false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, c, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })
	waitFeatureSuspend(t, e, st.DomID)
	return c, st
}
