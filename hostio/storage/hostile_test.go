package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/storage/storagetest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Hostile plugins get clear errors, and nothing they started outlives the
// call: each script notes its pid (its process group) and, for the ones
// that linger, starts a child in its group.
func TestClient_HostilePlugins(t *testing.T) {
	pidFile := func(dir string) string { return filepath.Join(dir, "pid") }
	cases := []struct {
		name     string
		script   string
		kind     string
		contains []string
	}{
		{name: "garbage and exit 1", kind: "unavailable",
			script:   "printf 'garbage\\001\\n'; echo 'it broke' >&2; exit 1",
			contains: []string{"exited with status 1 and no JSON error", `"garbage\x01\n"`, "it broke"}},
		{name: "not JSON", kind: "unavailable",
			script:   "echo 'all went well, I think'",
			contains: []string{"the reply is not the JSON expected", "all went well"}},
		{name: "hangs past the timeout", kind: "timeout",
			script:   "sleep 1000 & wait",
			contains: []string{"did not finish within 300ms: killed"}},
		{name: "prints 100 MB", kind: "resource_exhausted",
			script:   "head -c 104857600 /dev/zero | cat",
			contains: []string{"printed more than 1048576 bytes: killed"}},
		{name: "floods stderr", kind: "resource_exhausted",
			script:   "head -c 104857600 /dev/zero >&2",
			contains: []string{"printed more than"}},
		{name: "crashes", kind: "unavailable",
			script:   "echo dying >&2; kill -SEGV $$",
			contains: []string{"killed by signal segmentation fault", "dying"}},
		{name: "plugin error", kind: "busy",
			script:   `echo '{"code":"busy","message":"volume is in use by tapdisk 12"}'; exit 1`,
			contains: []string{"volume is in use by tapdisk 12 (busy)", storage.DatapathAttach}},
		{name: "plugin error of its own code", kind: "unavailable",
			script:   `echo '{"code":"SR_BACKEND_FAILURE_46","message":"the VDI is not available"}'; exit 3`,
			contains: []string{"the VDI is not available (SR_BACKEND_FAILURE_46)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pids := t.TempDir()
			script := "echo $$ > " + pidFile(pids) + "\n" + tc.script
			dir := storagetest.ScriptPlugin(t, map[string]string{storage.DatapathAttach: script})
			c := storage.NewClient(dir, "file:///nowhere", storage.WithTimeout(300*time.Millisecond))
			_, err := c.Attach(ctxFor(t), "k", "1")
			require.Error(t, err)
			require.Equal(t, tc.kind, errdefs.Kind(err), "%v", err)
			var se *storage.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, storage.DatapathAttach, se.Call)
			for _, s := range tc.contains {
				require.Contains(t, err.Error(), s)
			}
			pgid := storagetest.ReadPID(t, pidFile(pids))
			// The group was sent SIGKILL before the call returned; a member
			// can take a moment to leave the process table.
			require.Eventually(t, func() bool { return len(storagetest.GroupMembers(t, pgid)) == 0 },
				2*time.Second, 5*time.Millisecond, "processes of the plugin's group left")
		})
	}
}

func TestClient_MissingCallAndCancel(t *testing.T) {
	pids := t.TempDir()
	pidFile := filepath.Join(pids, "pid")
	dir := storagetest.ScriptPlugin(t, map[string]string{
		storage.VolumeLs:   "echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; sleep 1000 & wait",
		storage.VolumeStat: "echo {}"})
	c := storage.NewClient(dir, "file:///nowhere")

	_, err := c.Attach(ctxFor(t), "k", "1")
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
	require.Contains(t, err.Error(), "the plugin has no Datapath.attach")

	v, err := c.Stat(ctxFor(t), "k")
	require.NoError(t, err)
	require.Equal(t, storage.Volume{}, v)

	// The caller gives up while the plugin runs: the call ends canceled
	// and the plugin's group is gone.
	ctx, cancel := context.WithCancel(ctxFor(t))
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			if _, err := os.Stat(pidFile); err == nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err = c.List(ctx)
	require.True(t, errdefs.IsCanceled(err), "%v", err)
	pgid := storagetest.ReadPID(t, pidFile)
	require.Eventually(t, func() bool { return len(storagetest.GroupMembers(t, pgid)) == 0 },
		2*time.Second, 5*time.Millisecond, "processes of the plugin's group left")
}
