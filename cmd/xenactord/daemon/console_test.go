package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	cons "github.com/xenactor/xenactor/hostio/console"
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
