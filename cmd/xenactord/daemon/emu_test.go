package daemon_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// The embedded host serves its hypervisor on <run-dir>/hypervisor.sock,
// private to root, and suspend and resume run the helper against it.
func TestDaemon_Embedded_EmuManager(t *testing.T) {
	runDir := shortDir(t)
	// The helper leaves a mark of each run, then does its job.
	dir := t.TempDir()
	helper := emutest.BuildHelper(t)
	wrapper := emutest.Script(t, dir, "emu-manager", `echo "$*" >> runs; exec '`+helper+`' "$@"`)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
		EmuManager: wrapper, Logger: slog.New(slog.DiscardHandler)})
	socket := filepath.Join(runDir, sim.HypervisorSocket)
	require.Equal(t, socket, d.HypervisorSocket())
	fi, err := os.Stat(socket)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&os.ModeSocket)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	spec := newSpec(0)
	domid := startVM(t, d, spec)
	requireDevicesConnected(t, d, spec.UUID, 2)
	ctx := ctxFor(t)
	c, err := d.Host().VM(ctx, spec.UUID)
	require.NoError(t, err)
	xs, err := xenstore.Dial(ctx, d.Xenstored())
	require.NoError(t, err)
	defer xs.Close()
	require.Eventually(t, func() bool {
		v, err := xs.Read(ctx, "/local/domain/"+domid.String()+"/control/feature-suspend")
		return err == nil && string(v) == "1"
	}, waitFor, tick, "the guest can suspend")
	image := filepath.Join(t.TempDir(), "vm.img")
	id, err := c.Suspend(ctx, image)
	require.NoError(t, err)
	runTask(t, d, id)
	id, err = c.Resume(ctx, false)
	require.NoError(t, err)
	runTask(t, d, id)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, vm.Running, st.PowerState)
	runs, err := os.ReadFile(filepath.Join(dir, "runs"))
	require.NoError(t, err)
	require.Regexp(t, `^-mode save -domid \d+ -hypervisor \S+ -fd 3\n-mode restore -domid \d+ -hypervisor \S+ -fd 3\n$`,
		string(runs))

	require.NoError(t, d.Stop())
	_, err = os.Stat(socket)
	require.True(t, errors.Is(err, os.ErrNotExist), "the socket is removed: %v", err)
}

// With -xenguest, each start builds the domain in the builder, which
// reaches the embedded host's hypervisor on its socket; the guest boots.
func TestDaemon_Embedded_Xenguest(t *testing.T) {
	runDir := shortDir(t)
	dir := t.TempDir()
	builder := emutest.BuildXenguest(t)
	wrapper := emutest.Script(t, dir, "xenguest", `echo "$*" >> runs; exec '`+builder+`' "$@"`)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
		Xenguest: wrapper, Logger: slog.New(slog.DiscardHandler)})
	spec := newSpec(0)
	domid := startVM(t, d, spec)
	requireDevicesConnected(t, d, spec.UUID, 2)
	runs, err := os.ReadFile(filepath.Join(dir, "runs"))
	require.NoError(t, err)
	require.Equal(t, "-mode pv_build -domid "+domid.String()+" -mem_max_mib 64 -mem_start_mib 64 -image sim:linux "+
		"-store_port 0 -console_port 0 -store_domid 0 -console_domid 0 -hypervisor "+d.HypervisorSocket()+"\n",
		string(runs))
	require.NoError(t, d.Stop())
}
