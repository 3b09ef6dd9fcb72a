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

// withXenguest returns a tune that makes the VM's starts build the domain
// in the builder at path, reaching e's hypervisor on its socket.
func (e *env) withXenguest(t *testing.T, path string) func(*vm.Config) {
	t.Helper()
	return xenguestAt(path, simtest.Serve(t, e.h).Hypervisor)
}

// xenguestAt is a tune that makes the VM's starts build the domain in the
// builder at path, reaching the hypervisor on sock.
func xenguestAt(path, sock string) func(*vm.Config) {
	return func(cfg *vm.Config) {
		cfg.Xenguest = &vm.Xenguest{Path: path, Hypervisor: sock, Timeout: helperStepTimeout,
			AbortGrace: 200 * time.Millisecond}
	}
}

// A start, and a reboot's start, build the domain in the project's
// xenguest, a process of its own that reaches the hypervisor over its
// socket, with xenguest's arguments; the guest boots and reports.
func TestVMActor_Start_Xenguest(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	real := emutest.BuildXenguest(t)
	wrapper := emutest.Script(t, dir, "xenguest", `echo "$*" >> args; exec '`+real+`' "$@"`)
	sock := simtest.Serve(t, e.h).Hypervisor
	c, st := e.suspendable(t, newSpec("sim:linux"), xenguestAt(wrapper, sock))
	requireHelperGone(t, wrapper)
	ctx := ctxFor(t)
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	require.Equal(t, "-mode pv_build -domid "+st.DomID.String()+" -mem_max_mib 64 -mem_start_mib 64 -image sim:linux "+
		"-store_port 0 -console_port 0 -store_domid 0 -console_domid 0 -hypervisor "+
		sock+"\n", string(b))
	info, err := e.hv.DomainInfo(ctx, st.DomID)
	require.NoError(t, err)
	require.Equal(t, uint64(guestMemoryKiB), info.TargetKiB)

	id, err := c.Reboot(ctx, true)
	e.succeed(t, id, err)
	after := eventuallyStatus(t, c, func(st *vm.VMStatus) bool {
		return st.PowerState == vm.Running && allDevices(st, xenbus.StateConnected, xenbus.StateConnected)
	})
	require.NotEqual(t, st.DomID, after.DomID)
	waitFeatureSuspend(t, e, after.DomID)
	b, err = os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "the reboot's start ran the builder")
	require.Contains(t, lines[1], "-mode pv_build -domid "+after.DomID.String()+" ")

	id, err = c.Shutdown(ctx, false)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}

// An HVM domain and a PVH domain are built in their own modes.
func TestVMActor_Start_XenguestModes(t *testing.T) {
	real := emutest.BuildXenguest(t)
	for typ, mode := range map[hypervisor.DomainType]string{hypervisor.DomainTypeHVM: "hvm_build",
		hypervisor.DomainTypePVH: "pvh_build"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			wrapper := emutest.Script(t, dir, "xenguest", `echo "$1 $2" >> modes; exec '`+real+`' "$@"`)
			spec := newSpec("sim:linux")
			spec.Type = typ
			c, _ := e.suspendable(t, spec, e.withXenguest(t, wrapper))
			b, err := os.ReadFile(filepath.Join(dir, "modes"))
			require.NoError(t, err)
			require.Equal(t, "-mode "+mode+"\n", string(b))
			id, err := c.Shutdown(ctxFor(t), true)
			e.succeed(t, id, err)
			e.requireNothingLeft(t)
		})
	}
}

// A builder that fails fails the start within its timeout and is gone:
// the start's cleanup destroys the domain, and the VM is Halted with the
// builder's error.
func TestVMActor_Start_HostileXenguest(t *testing.T) {
	for name, c := range map[string]struct {
		body, kind, msg string
	}{
		"exits at once":      {"exit 1", "unavailable", "exited without a result (exit status 1)"},
		"exits 0":            {"exit 0", "invalid", "exited 0 without a result"},
		"dies":               {"kill -9 $$", "unavailable", "signal: killed"},
		"never prints":       {"sleep 600 & wait", "timeout", "nor progress within 300ms"},
		"chatters":           {"while :; do echo info:still here; sleep 0.05; done", "timeout", "nor progress"},
		"garbage":            {"echo garbage; exec sleep 600", "invalid", `not a protocol line: "garbage"`},
		"error":              {"echo error:no memory for the domain; exit 1", "unavailable", "no memory for the domain"},
		"bad result":         {"echo result:1 2; exit 0", "invalid", "want <store gfn>"},
		"not a number":       {"echo result:1 2 x 4; exit 0", "invalid", "is not a number"},
		"suspend:":           {"echo suspend:; exec sleep 600", "invalid", `printed "suspend:", expected result`},
		"hangs at result":    {"echo result:1 2 3 4; exec sleep 600", "timeout", "did not exit"},
		"fails after result": {"echo result:1 2 3 4; exit 3", "unavailable", "exit status 3"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			script := emutest.Script(t, t.TempDir(), "xenguest", c.body)
			vmc := e.spawnVM(t, newSpec("sim:linux"), e.withXenguest(t, script))
			ctx := ctxFor(t)
			id, err := vmc.Start(ctx, false)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, c.kind, task.ErrorKind, task.Error)
			require.Contains(t, task.Error, c.msg)
			require.Contains(t, task.Error, "build domain")
			requireHelperGone(t, script)
			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Halted, st.PowerState)
			e.requireNothingLeft(t)
		})
	}
}

// A cancelled start aborts the builder, which is gone, and leaves no
// domain.
func TestVMActor_Start_XenguestCancelled(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	script := emutest.Script(t, dir, "xenguest", `echo started > started; read x; echo "$x" > got; exit 1`)
	vmc := e.spawnVM(t, newSpec("sim:linux"), func(cfg *vm.Config) {
		e.withXenguest(t, script)(cfg)
		cfg.Xenguest.Timeout = time.Minute
	})
	ctx := ctxFor(t)
	id, err := vmc.Start(ctx, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	}, waitFor, tick, "the builder runs")
	require.NoError(t, e.tasks.Cancel(ctx, id))
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "canceled", task.ErrorKind, task.Error)
	requireHelperGone(t, script)
	got, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "abort\n", string(got))
	e.requireNothingLeft(t)
}
