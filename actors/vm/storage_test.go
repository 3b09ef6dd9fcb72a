package vm_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/storage/storagetest"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// fileVDI registers an SR "local" of the file plugin bin in a new registry
// and creates a volume in it; it returns the registry, the volume's client
// and key, and the SR's directory.
func fileVDI(t *testing.T, bin string, opts ...storage.Option) (*storage.Registry, *storage.Client, string, string) {
	t.Helper()
	reg := storage.NewRegistry(opts...)
	dir := storagetest.FileSR(t, reg, "local", bin)
	c, err := reg.Client("local")
	require.NoError(t, err)
	v, err := c.Create(ctxFor(t), "xvda", "", 16<<20)
	require.NoError(t, err)
	return reg, c, v.Key, dir
}

// requireDetached requires that volume key is neither attached nor active.
func requireDetached(t *testing.T, c *storage.Client, key string) {
	t.Helper()
	v, err := c.Stat(ctxFor(t), key)
	require.NoError(t, err)
	require.Empty(t, v.Keys, "the volume is still attached")
}

func TestVMActor_StartWithVDI(t *testing.T) {
	e := newEnv(t)
	reg, c, key, dir := fileVDI(t, storagetest.BuildFilePlugin(t))
	spec := newSpec("sim:linux")
	spec.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/" + key}
	client := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.Storage = reg })
	ctx := ctxFor(t)

	id, err := client.Start(ctx, false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, client, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	be := xenbus.Device{Class: xenbus.ClassVBD, Frontend: uint32(st.DomID), DevID: 51712}.BackendPath()
	params, err := e.xs.Read(ctx, be+"/params")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, key+".img"), string(params))
	v, err := c.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, map[string]string{storage.KeyAttachedDomain: strconv.Itoa(int(st.DomID)),
		storage.KeyActive: "true"}, v.Keys)

	id, err = client.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
	requireDetached(t, c, key)

	// Started again, the volume attaches again.
	id, err = client.Start(ctx, true)
	e.succeed(t, id, err)
	v, err = c.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "true", v.Keys[storage.KeyActive])
	id, err = client.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
	requireDetached(t, c, key)
}

// A plugin whose attach fails, replies garbage or hangs, each after really
// attaching the volume: the start fails with the plugin's message and
// leaves nothing, the volume detached again.
func TestVMActor_Start_VDIAttachFails(t *testing.T) {
	bin := storagetest.BuildFilePlugin(t)
	attach := `"` + bin + `" Datapath.attach >/dev/null` + "\n"
	for _, tc := range []struct {
		name, script, want, kind string
	}{
		{"fails", attach + `echo '{"code":"unavailable","message":"the array is on fire"}'; exit 1`,
			"the array is on fire", "unavailable"},
		{"garbage", attach + "echo garbage", `the reply is not the JSON expected`, "unavailable"},
		{"hangs", attach + "sleep 1000 & wait", "did not finish within 500ms", "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			reg, c, key, _ := fileVDI(t, bin, storage.WithTimeout(500*time.Millisecond))
			plugin := reg.SRs()[0].PluginDir
			fn := filepath.Join(plugin, storage.DatapathAttach)
			require.NoError(t, removeAndWrite(fn, "#!/bin/sh\n"+tc.script+"\n"))
			spec := newSpec("sim:linux")
			spec.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/" + key}
			client := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.Storage = reg })
			ctx := ctxFor(t)
			// dom0's home, which the failed start never makes by writing a
			// backend under it, as requireNothingLeft expects it.
			require.NoError(t, e.xs.Write(ctx, "/local/domain/0/name", []byte("Domain-0")))

			id, err := client.Start(ctx, false)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Contains(t, task.Error, tc.want)
			require.Contains(t, task.Error, "attach VDI local/"+key)
			require.Equal(t, tc.kind, task.ErrorKind, task.Error)
			st, err := client.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Halted, st.PowerState)
			e.requireNothingLeft(t)
			requireDetached(t, c, key)
		})
	}
}

// removeAndWrite replaces the file (or symlink) path with an executable
// holding content.
func removeAndWrite(path, content string) error {
	if err := os.Remove(path); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o755)
}

// A VBD with a VDI hot-plugged into a running VM (its volume left attached
// for the domain, as by an interrupted plug) and unplugged again; then a
// start whose hotplug fails after the volume was attached.
func TestVMActor_HotplugVDI(t *testing.T) {
	e := newEnv(t)
	reg, c, key, dir := fileVDI(t, storagetest.BuildFilePlugin(t))
	spec := newSpec("sim:linux")
	client := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.Storage = reg })
	ctx := ctxFor(t)

	id, err := client.Start(ctx, false)
	e.succeed(t, id, err)
	st := eventuallyStatus(t, client, func(st *vm.VMStatus) bool { return st.PowerState == vm.Running })
	// As an interrupted plug leaves it: attached and active for the domain.
	domain := strconv.Itoa(int(st.DomID))
	_, err = c.Attach(ctx, key, domain)
	require.NoError(t, err)
	require.NoError(t, c.Activate(ctx, key, domain))
	id, err = client.PlugVBD(ctx, vm.VBD{DevID: 51728, VDI: "local/" + key})
	e.succeed(t, id, err)
	be := xenbus.Device{Class: xenbus.ClassVBD, Frontend: uint32(st.DomID), DevID: 51728}.BackendPath()
	params, err := e.xs.Read(ctx, be+"/params")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, key+".img"), string(params))
	v, err := c.Stat(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "true", v.Keys[storage.KeyActive])

	id, err = client.UnplugVBD(ctx, 51728, false)
	e.succeed(t, id, err)
	requireDetached(t, c, key)
	id, err = client.Shutdown(ctx, true)
	e.succeed(t, id, err)

	// The hotplug step fails after the volume was attached.
	e.h.Faults().SetHotplugError("no loop device left")
	spec2 := newSpec("sim:linux")
	spec2.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/" + key}
	client2 := e.spawnVM(t, spec2, func(cfg *vm.Config) { cfg.Storage = reg })
	id, err = client2.Start(ctx, false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Contains(t, task.Error, "no loop device left")
	e.requireNothingLeft(t)
	requireDetached(t, c, key)
}

func TestSpec_Validate_VDI(t *testing.T) {
	s := newSpec("sim:linux")
	s.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/0b7e0f56-0000-4000-8000-000000000001"}
	require.NoError(t, s.Validate(), "a VBD with a VDI needs no Params")
	for _, bad := range []string{"local", "/key", "local/", " local/k"} {
		s.VBDs[0].VDI = bad
		err := s.Validate()
		require.ErrorIs(t, err, errdefs.ErrInvalid, bad)
		require.Contains(t, err.Error(), "VBD 51712")
		require.Contains(t, err.Error(), "<sr>/<key>")
	}
}

// A VBD with a VDI and no storage registry (or an unknown SR) fails the
// start cleanly.
func TestVMActor_Start_VDIWithoutSR(t *testing.T) {
	for name, reg := range map[string]*storage.Registry{"no registry": nil, "unknown SR": storage.NewRegistry()} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			spec := newSpec("sim:linux")
			spec.VBDs[0] = vm.VBD{DevID: 51712, VDI: "local/k"}
			client := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.Storage = reg })
			ctx := ctxFor(t)
			require.NoError(t, e.xs.Write(ctx, "/local/domain/0/name", []byte("Domain-0")))
			id, err := client.Start(ctx, false)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, "not_found", task.ErrorKind, task.Error)
			require.Contains(t, task.Error, "local")
			st, err := client.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Halted, st.PowerState)
			e.requireNothingLeft(t)
		})
	}
}
