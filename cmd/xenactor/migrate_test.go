package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	clicodes "github.com/xenactor/xenactor/cmd/xenactor/cli"
	"github.com/xenactor/xenactor/internal/testenv"
)

// daemonProc is a xenactord process with its API and migration listener
// on free ports.
type daemonProc struct {
	cmd     *exec.Cmd
	logs    *testenv.Buffer
	exited  chan error
	config  string // its client.json
	migrate string // its migration listener
}

var migrateLog = regexp.MustCompile(`migrate=(127\.0\.0\.1:[0-9]+)`)

func startDaemon(t *testing.T, bin string) *daemonProc {
	t.Helper()
	dir, err := os.MkdirTemp("", "xam")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	stateDir := filepath.Join(dir, "state")
	d := &daemonProc{logs: &testenv.Buffer{}, exited: make(chan error, 1),
		config: filepath.Join(stateDir, "api", "client.json")}
	d.cmd = exec.Command(bin, "-state-dir", stateDir, "-run-dir", dir, "-host-memory", "1024",
		"-metrics-addr", "", "-api-addr", "127.0.0.1:0", "-migrate-addr", "127.0.0.1:0")
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	require.NoError(t, d.cmd.Start())
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		err := <-d.exited
		d.exited <- err
	})
	require.Eventually(t, func() bool {
		m := migrateLog.FindStringSubmatch(d.logs.String())
		if m == nil {
			return false
		}
		d.migrate = m[1]
		_, err := os.Stat(d.config)
		return err == nil
	}, waitFor, 50*time.Millisecond, "daemon not ready; log:\n%s", d.logs)
	return d
}

// stop ends the daemon with SIGTERM, or kills it.
func (d *daemonProc) stop(t *testing.T, kill bool) {
	t.Helper()
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	require.NoError(t, d.cmd.Process.Signal(sig))
	select {
	case err := <-d.exited:
		d.exited <- err
		if !kill {
			require.NoError(t, err, "exit; log:\n%s", d.logs)
		}
	case <-time.After(waitFor):
		t.Fatalf("no exit; log:\n%s", d.logs)
	}
}

// TestXenactor_MigrateBetweenDaemons runs two xenactord processes and
// moves a running VM from one to the other with `xenactor vm migrate`, over
// TLS with the destination's credentials; then migrations back that must
// fail (a wrong token, a destination killed) leave it running where it is.
func TestXenactor_MigrateBetweenDaemons(t *testing.T) {
	daemonBin := buildCmd(t, "../xenactord", "xenactord")
	cli := buildCmd(t, ".", "xenactor")
	a, b := startDaemon(t, daemonBin), startDaemon(t, daemonBin)
	xenactor := func(d *daemonProc, args ...string) (string, string, int) {
		t.Helper()
		return run(t, cli, nil, append([]string{"--config", d.config, "--timeout", "60s"}, args...)...)
	}
	ok := func(d *daemonProc, args ...string) string {
		t.Helper()
		stdout, stderr, code := xenactor(d, args...)
		require.Equal(t, 0, code, "xenactor %s: %s\nlogs:\n%s\n%s", strings.Join(args, " "), stderr, a.logs, b.logs)
		return stdout
	}
	state := func(d *daemonProc, vm string) string {
		t.Helper()
		var st struct {
			PowerState string `json:"power_state"`
		}
		require.NoError(t, json.Unmarshal([]byte(ok(d, "vm", "stat", vm, "--json")), &st))
		return st.PowerState
	}

	uuid := strings.TrimSpace(ok(a, "vm", "create", "--name", "mig", "--memory", "64M", "--kernel", "sim:linux",
		"--vbd", "devid=51712,params=/dev/loop0", "--vif", "devid=0,mac=00:16:3e:00:00:99,bridge=xenbr0"))
	ok(a, "vm", "start", "mig")
	require.Equal(t, "POWER_STATE_RUNNING", state(a, "mig"))

	ok(a, "vm", "migrate", "mig", "--to", b.migrate, "--dest-config", b.config, "--compress")
	require.Equal(t, "[]\n", ok(a, "vm", "list", "--json"), "the source forgot the VM")
	require.Equal(t, "POWER_STATE_RUNNING", state(b, uuid), "the destination runs it")

	// Back to a with a's CA but b's token: refused, the VM runs on at b.
	var cfg map[string]any
	data, err := os.ReadFile(a.config)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cfg))
	cfg["ca"] = filepath.Join(filepath.Dir(a.config), cfg["ca"].(string))
	cfg["token"] = filepath.Join(filepath.Dir(b.config), "token")
	delete(cfg, "cert")
	delete(cfg, "key")
	data, err = json.Marshal(cfg)
	require.NoError(t, err)
	wrong := filepath.Join(t.TempDir(), "wrong.json")
	require.NoError(t, os.WriteFile(wrong, data, 0o600))
	_, stderr, code := xenactor(b, "vm", "migrate", "mig", "--to", a.migrate, "--dest-config", wrong)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "bad token")
	require.Equal(t, "POWER_STATE_RUNNING", state(b, "mig"))

	// b's own CA is not a's: the TLS handshake refuses a.
	_, stderr, code = xenactor(b, "vm", "migrate", "mig", "--to", a.migrate, "--dest-config", b.config)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "certificate signed by unknown authority")
	require.Equal(t, "POWER_STATE_RUNNING", state(b, "mig"))

	// a killed: the migration fails, the VM runs on at b.
	a.stop(t, true)
	_, stderr, code = xenactor(b, "vm", "migrate", "mig", "--to", a.migrate, "--dest-config", a.config)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "dial migration listener")
	require.Equal(t, "POWER_STATE_RUNNING", state(b, "mig"))

	// A pool host's name is not an address: not with --to, and b is in no
	// pool.
	_, stderr, code = xenactor(b, "vm", "migrate", "mig", "--to-host", "a", "--to", a.migrate)
	require.Equal(t, clicodes.ExitUsage, code, stderr)
	require.Contains(t, stderr, "not both")
	_, stderr, code = xenactor(b, "vm", "migrate", "mig", "--to-host", "a")
	require.Equal(t, clicodes.ExitNotFound, code, stderr)
	require.Contains(t, stderr, "not in a pool")
	require.Equal(t, "POWER_STATE_RUNNING", state(b, "mig"))

	ok(b, "vm", "shutdown", "mig", "--hard")
	b.stop(t, false)
}
