package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/testenv"
)

// waitFor bounds the waits for the daemon.
const waitFor = 60 * time.Second

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

// run runs the xenactor binary bin with env added to the environment and
// returns its stdout, stderr and exit code.
func run(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return stdout.String(), stderr.String(), 0
}

// TestXenactor_EndToEnd builds xenactord and xenactor, starts the daemon on
// a free 127.0.0.1 port with its generated credentials, and drives a VM
// through its life with the CLI over the real transport; a wrong token is
// refused with exit code 5.
func TestXenactor_EndToEnd(t *testing.T) {
	daemonBin := buildCmd(t, "../xenactord", "xenactord")
	cli := buildCmd(t, ".", "xenactor")

	dir, err := os.MkdirTemp("", "xae")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	stateDir := filepath.Join(dir, "state")
	daemon := exec.Command(daemonBin, "-state-dir", stateDir, "-run-dir", dir, "-host-memory", "1024",
		"-metrics-addr", "", "-migrate-addr", "", "-api-addr", "127.0.0.1:0")
	logs := &testenv.Buffer{}
	daemon.Stdout, daemon.Stderr = logs, logs
	require.NoError(t, daemon.Start())
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = daemon.Process.Kill()
			<-exited
		}
	})

	// The daemon generates its credentials and client.json in
	// <state-dir>/api, where the CLI looks by default (./run/state/api).
	config := filepath.Join(stateDir, "api", "client.json")
	require.Eventually(t, func() bool {
		_, err := os.Stat(config)
		return err == nil
	}, waitFor, 50*time.Millisecond, "no client.json; daemon log:\n%s", logs)
	var cfg struct {
		Address string `json:"address"`
		CA      string `json:"ca"`
	}
	data, err := os.ReadFile(config)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cfg))
	require.True(t, strings.HasPrefix(cfg.Address, "127.0.0.1:"), cfg.Address)
	require.NotEqual(t, "127.0.0.1:0", cfg.Address)

	xenactor := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := run(t, cli, nil, append([]string{"--config", config, "--timeout", "60s"}, args...)...)
		require.Equal(t, 0, code, "xenactor %s: %s\ndaemon log:\n%s", strings.Join(args, " "), stderr, logs)
		return stdout
	}

	uuid := strings.TrimSpace(xenactor("vm", "create", "--name", "e2e", "--memory", "64M", "--kernel", "sim:linux",
		"--vbd", "devid=51712,params=/dev/loop0"))
	require.Len(t, uuid, 36)
	xenactor("vm", "start", "e2e")
	var st struct {
		UUID       string `json:"uuid"`
		PowerState string `json:"power_state"`
		Devices    []struct {
			Class        string `json:"class"`
			BackendState string `json:"backend_state"`
		} `json:"devices"`
	}
	require.NoError(t, json.Unmarshal([]byte(xenactor("vm", "stat", "e2e", "--json")), &st))
	require.Equal(t, uuid, st.UUID)
	require.Equal(t, "POWER_STATE_RUNNING", st.PowerState)
	require.NotEmpty(t, st.Devices)
	require.Contains(t, xenactor("vm", "stat", uuid), "Running")
	require.Contains(t, xenactor("events"), "vm/"+uuid)

	// $XENACTOR_CONFIG instead of --config.
	stdout, stderr, code := run(t, cli, []string{"XENACTOR_CONFIG=" + config}, "vm", "list")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "e2e")

	xenactor("vm", "shutdown", "e2e", "--hard")
	xenactor("vm", "remove", "e2e")
	require.Equal(t, "[]\n", xenactor("vm", "list", "--json"))

	// A wrong token is refused: exit code 5.
	wrong := filepath.Join(dir, "wrong-token")
	require.NoError(t, os.WriteFile(wrong, []byte("not-the-token\n"), 0o600))
	ca := cfg.CA
	if !filepath.IsAbs(ca) {
		ca = filepath.Join(stateDir, "api", ca)
	}
	bad, err := json.Marshal(map[string]string{"address": cfg.Address, "ca": ca, "token": wrong})
	require.NoError(t, err)
	badConfig := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badConfig, bad, 0o600))
	_, stderr, code = run(t, cli, nil, "--config", badConfig, "host", "info")
	require.Equal(t, 5, code, stderr)
	// No configuration: the daemon cannot be reached, exit code 6.
	_, stderr, code = run(t, cli, nil, "--config", filepath.Join(dir, "none.json"), "host", "info")
	require.Equal(t, 6, code, stderr)

	require.NoError(t, daemon.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		stopped = true
		require.NoError(t, err, "daemon log:\n%s", logs)
	case <-time.After(waitFor):
		t.Fatalf("xenactord did not stop on SIGTERM; log:\n%s", logs)
	}
}
