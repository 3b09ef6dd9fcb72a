package daemons_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/supervisors"
)

// TestXenconsoled_SupervisedAndAdopted runs the spec with the test binary
// as xenconsoled: its arguments, restarted when it dies, left running by a
// Detach and adopted by the next actor.
func TestXenconsoled_SupervisedAndAdopted(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	require.NoError(t, err)
	t.Setenv(helperEnv, "xenconsoled")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	m, err := process.NewManager(filepath.Join(dir, "xenconsoled"), process.WithGrace(5*time.Second))
	require.NoError(t, err)
	logDir := filepath.Join(dir, "console")
	cfg, err := daemons.Xenconsoled(m, daemons.XenconsoledConfig{Program: exe, LogDir: logDir,
		Xenstored: "/run/x/socket"})
	require.NoError(t, err)
	cfg.Backoff = supervisors.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond}
	require.Equal(t, filepath.Join(dir, "xenconsoled", "xenconsoled.pid"), m.PidFile(cfg.Spec.Name))

	system := actortest.System(t)
	c1 := daemons.NewClient(system, system.Root.Spawn(daemons.Props(cfg)))
	first := waitStatus(t, c1, running)
	args := filepath.Join(logDir, "helper-args")
	require.Eventually(t, func() bool { _, err := os.Stat(args); return err == nil }, 20*time.Second, 5*time.Millisecond)
	b, err := os.ReadFile(args)
	require.NoError(t, err)
	require.Equal(t, []string{"-i", "--log=guest", "--log-dir=" + logDir, "XENSTORED_PATH=/run/x/socket"},
		strings.Fields(string(b)))

	require.NoError(t, syscall.Kill(first.Pid, syscall.SIGKILL))
	second := waitStatus(t, c1, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
	require.Equal(t, 1, second.Restarts)

	require.NoError(t, c1.Detach(t.Context()))
	require.True(t, alive(second.Pid), "a detached xenconsoled keeps serving the consoles")
	c2 := daemons.NewClient(system, system.Root.Spawn(daemons.Props(cfg)))
	s := waitStatus(t, c2, running)
	require.True(t, s.Adopted)
	require.Equal(t, second.Pid, s.Pid)
	require.NoError(t, c2.Stop(t.Context()))
	require.False(t, alive(s.Pid))
}

func TestXenconsoled_Config(t *testing.T) {
	m, err := process.NewManager(t.TempDir())
	require.NoError(t, err)
	_, err = daemons.Xenconsoled(m, daemons.XenconsoledConfig{Program: "/bin/true"})
	require.True(t, errdefs.IsInvalid(err), "no log directory: %v", err)

	cfg, err := daemons.Xenconsoled(m, daemons.XenconsoledConfig{Program: "/bin/true", LogDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, daemons.DefaultXenconsoledName, cfg.Spec.Name)
	require.Nil(t, cfg.Spec.Env, "the daemon's environment, without XENSTORED_PATH")
	require.Nil(t, cfg.Ready, "nothing to probe: running is ready")
}
