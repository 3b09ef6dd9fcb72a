package main_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/internal/testenv"
)

// build builds xenactord into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	return buildCmd(t, ".", "xenactord")
}

// buildCmd builds the command in dir (relative to this one) into a
// temporary directory as name.
func buildCmd(t *testing.T, dir, name string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command(goBin, "build", "-o", bin, dir).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", dir, out)
	return bin
}

// proc is a started command with its stderr.
type proc struct {
	cmd    *exec.Cmd
	stderr *testenv.Buffer
	done   chan error
}

// startProc starts bin with args; the test kills it if it is still running
// at the end.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &testenv.Buffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
	})
	return p
}

// waitLog waits until the process logged want.
func (p *proc) waitLog(t *testing.T, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), want) },
		20*time.Second, 20*time.Millisecond, "no %q; stderr:\n%s", want, p.stderr)
}

// terminate sends SIGTERM and requires a clean exit.
func (p *proc) terminate(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		require.NoError(t, err, "exit; stderr:\n%s", p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM; stderr:\n%s", p.stderr)
	}
}

// shortDir is a temporary directory with a short path, for a Unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xad")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestXenactord_ServesXenstoreAndStopsCleanly(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	var stderr, stdout testenv.Buffer
	cmd := exec.Command(bin, "-run-dir", runDir, "-state-dir", stateDir, "-host-memory", "4096", "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "")
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	socket := filepath.Join(runDir, "xenstored.sock")
	require.Eventually(t, func() bool {
		fi, err := os.Stat(socket)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	}, 20*time.Second, 20*time.Millisecond, "no socket; stderr:\n%s", &stderr)
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "xenactord ready") },
		10*time.Second, 20*time.Millisecond, "never ready; stderr:\n%s", &stderr)
	_, err := os.Stat(stateDir)
	require.NoError(t, err, "the state directory is created")
	// No -hypervisor: a test binary has no Xen backend, so the simulated
	// host, and it says why.
	require.Contains(t, stdout.String(), "hypervisor: sim (")
	require.Contains(t, stderr.String(), "hypervisor: sim (")
	if dom0, _ := xen.ControlDomain(xen.CapabilitiesPath); !dom0 {
		require.Contains(t, stdout.String(), "hypervisor: sim (no Xen control domain)")
	}

	t.Run("xenstore-ls", func(t *testing.T) {
		progs := testenv.RequireExternal(t, "xenstore-ls")
		ls := exec.Command(progs["xenstore-ls"], "-f", "/")
		ls.Env = append(os.Environ(), "XENSTORED_PATH="+socket)
		out, err := ls.CombinedOutput()
		require.NoError(t, err, "xenstore-ls: %s", out)
		require.Contains(t, string(out), "/tool/xenstored")
	})

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit; stderr:\n%s", &stderr)
		done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM; stderr:\n%s", &stderr)
	}
	_, err = os.Stat(socket)
	require.True(t, errors.Is(err, os.ErrNotExist), "the socket is removed: %v", err)
	require.Contains(t, stderr.String(), "xenactord stopping")
}

func TestXenactord_ExternalXenstoredIsAUsageError(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	cmd := exec.Command(bin, "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir, "-state-dir", filepath.Join(runDir, "state"),
		"-xenstored", "/var/run/xenstored/socket")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	require.Equal(t, 2, ee.ExitCode())
	require.Contains(t, string(out), "not supported")
}

func TestXenactord_AgainstASimhostProcess(t *testing.T) {
	simhost := buildCmd(t, "../xenactor-simhost", "xenactor-simhost")
	bin := build(t)
	hostDir := shortDir(t)
	host := startProc(t, simhost, "-run-dir", hostDir, "-host-memory", "2048")
	host.waitLog(t, "simhost ready")
	xsSocket := filepath.Join(hostDir, "xenstored.sock")
	hvSocket := filepath.Join(hostDir, "hypervisor.sock")

	runDir := shortDir(t)
	d := startProc(t, bin, "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir, "-state-dir", filepath.Join(runDir, "state"),
		"-hypervisor", "unix:"+hvSocket, "-xenstored", xsSocket)
	d.waitLog(t, "xenactord ready")
	_, err := os.Stat(filepath.Join(runDir, "xenstored.sock"))
	require.True(t, errors.Is(err, os.ErrNotExist), "no embedded xenstored: %v", err)
	d.terminate(t)
	require.Contains(t, d.stderr.String(), "xenactord stopping")

	// The host outlives the daemon.
	for _, p := range []string{xsSocket, hvSocket} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.NotZero(t, fi.Mode()&os.ModeSocket, p)
	}
	host.terminate(t)
	for _, p := range []string{xsSocket, hvSocket} {
		_, err := os.Stat(p)
		require.True(t, errors.Is(err, os.ErrNotExist), "%s is removed: %v", p, err)
	}
}

func TestXenactord_HypervisorXenNeedsTheBuildTag(t *testing.T) {
	bin := build(t) // without -tags xen
	runDir := shortDir(t)
	out, err := exec.Command(bin, "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir,
		"-state-dir", filepath.Join(runDir, "state"), "-hypervisor", "xen").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	require.Equal(t, 2, ee.ExitCode())
	require.Contains(t, string(out), "build with -tags xen")
}

func TestXenactord_UnknownHypervisorIsAUsageError(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	out, err := exec.Command(bin, "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir, "-state-dir", filepath.Join(runDir, "state"),
		"-hypervisor", "kvm").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	require.Equal(t, 2, ee.ExitCode())
	require.Contains(t, string(out), `"kvm"`)
}

func TestSimhost_PrivateOpenVSwitchUnderItsDaemons(t *testing.T) {
	testenv.RequireExternal(t, "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")
	simhost := buildCmd(t, "../xenactor-simhost", "xenactor-simhost")
	hostDir := shortDir(t)
	host := startProc(t, simhost, "-run-dir", hostDir, "-host-memory", "1024", "-switch", "ovs")
	host.waitLog(t, "simhost ready")
	// Both daemons run with their pid files under the host's run directory.
	var pids []int
	for _, name := range []string{"ovsdb-server", "ovs-vswitchd"} {
		b, err := os.ReadFile(filepath.Join(hostDir, "ovs", "daemons", name+".pid"))
		require.NoError(t, err)
		var rec struct{ Pid int }
		require.NoError(t, json.Unmarshal(b, &rec), "%s", b)
		require.NoError(t, syscall.Kill(rec.Pid, 0), "%s runs", name)
		pids = append(pids, rec.Pid)
	}
	host.terminate(t)
	for _, pid := range pids {
		require.Error(t, syscall.Kill(pid, 0), "pid %d stops with the host", pid)
	}

	bad := exec.Command(simhost, "-run-dir", shortDir(t), "-switch", "bogus")
	err := bad.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 2, exit.ExitCode())
}

// -pprof-addr serves Go's profiles on loopback and names the address in
// the ready line, the open files limit is logged at start, and xenactor-
// simhost does both too; a pprof address off loopback and an unknown
// -console mode are usage errors.
func TestXenactord_ProfilesAndOpenFilesLimit(t *testing.T) {
	simhost := buildCmd(t, "../xenactor-simhost", "xenactor-simhost")
	bin := build(t)
	hostDir := shortDir(t)
	host := startProc(t, simhost, "-run-dir", hostDir, "-host-memory", "2048", "-pprof-addr", "127.0.0.1:0")
	host.waitLog(t, "simhost ready")
	runDir := shortDir(t)
	d := startProc(t, bin, "-metrics-addr", "", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir,
		"-state-dir", filepath.Join(runDir, "state"), "-hypervisor", "unix:"+filepath.Join(hostDir, "hypervisor.sock"),
		"-xenstored", filepath.Join(hostDir, "xenstored.sock"), "-pprof-addr", "127.0.0.1:0", "-console", "log")
	d.waitLog(t, "xenactord ready")
	pprofAt := regexp.MustCompile(`pprof=(127\.0\.0\.1:[0-9]+)`)
	for _, p := range []*proc{host, d} {
		require.Contains(t, p.stderr.String(), "open files limit")
		m := pprofAt.FindStringSubmatch(p.stderr.String())
		require.NotNil(t, m, "no pprof address; stderr:\n%s", p.stderr)
		resp, err := http.Get("http://" + m[1] + "/debug/pprof/goroutine?debug=1")
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		require.Contains(t, string(b), "goroutine profile:")
	}
	require.Contains(t, d.stderr.String(), "console=log")
	d.terminate(t)
	host.terminate(t)

	for _, args := range [][]string{{"-pprof-addr", "0.0.0.0:0"}, {"-console", "serial"}} {
		out, err := exec.Command(bin, append([]string{"-metrics-addr", "", "-migrate-addr", "", "-api-addr", "",
			"-run-dir", shortDir(t), "-state-dir", filepath.Join(t.TempDir(), "state")}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", args, out)
		require.Equal(t, 2, ee.ExitCode(), "%v: %s", args, out)
	}
}
