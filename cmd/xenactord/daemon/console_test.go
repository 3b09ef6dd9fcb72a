package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The daemon runs the console daemon: a VM's boot banner reaches
// <run-dir>/console/guest-<domid>.log, on the embedded host and on a
// remote one (whose page access writes whole pages).
func TestDaemon_ConsoleLogs(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "remote"}[remote], func(t *testing.T) {
			runDir := shortDir(t)
			cfg := daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024}
			if remote {
				_, s := remoteHost(t)
				cfg = remoteConfig(t, s, filepath.Join(runDir, "state"))
				cfg.RunDir = runDir
			}
			d := start(t, cfg)
			domid := startVM(t, d, newSpec(0))
			log := filepath.Join(runDir, daemon.ConsoleDir, cons.LogName(uint32(domid)))
			require.Eventually(t, func() bool {
				b, _ := os.ReadFile(log)
				return strings.Contains(string(b), "Linux version") && strings.Contains(string(b), "xen_netfront")
			}, waitFor, tick)
			require.NoError(t, d.Stop())
		})
	}
}

// Config.Console: the default offers each console on a pty (console/tty),
// ConsoleLog only logs it; an unknown mode is a usage error.
func TestDaemon_ConsoleModes(t *testing.T) {
	for _, mode := range []string{"", daemon.ConsoleLog} {
		t.Run("mode="+mode, func(t *testing.T) {
			runDir := shortDir(t)
			cfg := daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
				Console: mode}
			d := start(t, cfg)
			domid := startVM(t, d, newSpec(0))
			log := filepath.Join(runDir, daemon.ConsoleDir, cons.LogName(uint32(domid)))
			require.Eventually(t, func() bool {
				b, _ := os.ReadFile(log)
				return strings.Contains(string(b), "xen_netfront")
			}, waitFor, tick, "the console is logged in either mode")
			ctx := ctxFor(t)
			xs, err := xenstore.Dial(ctx, d.Xenstored())
			require.NoError(t, err)
			defer xs.Close()
			tty, err := xs.Read(ctx, "/local/domain/"+domid.String()+"/console/tty")
			if mode == daemon.ConsoleLog {
				require.True(t, errdefs.IsNotFound(err), "no pty in log mode: %q %v", tty, err)
			} else {
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(string(tty), "/dev/pts/"), string(tty))
			}
			require.NoError(t, d.Stop())
		})
	}
	_, err := daemon.Start(ctxFor(t), daemon.Config{StateDir: t.TempDir(), RunDir: shortDir(t), Console: "serial"})
	require.ErrorIs(t, err, daemon.ErrUsage)
}
