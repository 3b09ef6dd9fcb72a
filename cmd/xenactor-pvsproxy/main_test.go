package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/pvsproxy"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/supervisors"
)

// envChild makes the test binary the proxy daemon.
const envChild = "XENACTOR_TEST_PVSPROXY"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(pvsproxy.Main(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

const wait = 20 * time.Second

// The proxy runs as a daemon supervised by its actor, follows the VIFs'
// PVS keys in xenstore, and is restarted when it dies.
func TestPVSProxy_SupervisedFollowsXenstore(t *testing.T) {
	h := simtest.NewHost(t)
	xs := simtest.Dom0(t, h)
	dir, err := os.MkdirTemp("", "p")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socks, err := h.ServeSockets(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = socks.Close() })
	m, err := process.NewManager(filepath.Join(dir, "run"), process.WithGrace(5*time.Second))
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	control := filepath.Join(dir, "pvs.sock")
	spec, probe := pvsproxy.Daemon("pvsproxy", exe, socks.Xenstored, control,
		append(os.Environ(), envChild+"=1", "GORACE=atexit_sleep_ms=0"))
	system := actortest.System(t)
	c := daemons.NewClient(system, system.Root.Spawn(daemons.Props(daemons.Config{Manager: m, Spec: spec,
		Ready: probe, Health: probe, HealthInterval: 50 * time.Millisecond,
		Backoff: supervisors.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond}})))
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	first := waitRunning(t, c, 0)

	ctx := t.Context()
	s := pvsproxy.Settings{Site: "6a1c9a0e-8d1b-4f3a-9a55-0c7d7f3e2b10", Interface: "pvs0",
		Servers: []pvsproxy.Server{{Addresses: []string{"10.0.0.5"}, FirstPort: 6910, LastPort: 6930}}}
	priv := "/xapi/5/private/vif/0"
	require.NoError(t, xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		for _, kv := range s.Keys() {
			if err := tx.Write(ctx, priv+"/"+kv[0], []byte(kv[1])); err != nil {
				return err
			}
		}
		return tx.Write(ctx, "/xapi/5/private/vif/1/vif-uuid", []byte("not a PVS VIF"))
	}))
	want := []pvsproxy.VIF{{DomID: 5, DevID: 0, Settings: s}}
	waitVIFs(t, control, want)

	// Killed, it is restarted and reads the keys again.
	require.NoError(t, syscall.Kill(first.Pid, syscall.SIGKILL))
	second := waitRunning(t, c, first.Pid)
	require.GreaterOrEqual(t, second.Restarts, 1)
	waitVIFs(t, control, want)

	// The VIF's private directory goes with its unplug: the proxy lets it go.
	require.NoError(t, xs.Rm(ctx, "/xapi/5"))
	waitVIFs(t, control, nil)
}

// waitRunning waits until the daemon runs with a pid other than not.
func waitRunning(t *testing.T, c daemons.Client, not int) daemons.Status {
	t.Helper()
	var last daemons.Status
	require.Eventually(t, func() bool {
		s, err := c.Status(t.Context())
		if err != nil {
			return false
		}
		last = s
		return s.State == daemons.StateRunning && s.Pid != 0 && s.Pid != not
	}, wait, 5*time.Millisecond, "last status: %+v", &last)
	return last
}

func waitVIFs(t *testing.T, control string, want []pvsproxy.VIF) {
	t.Helper()
	var last pvsproxy.Status
	require.Eventually(t, func() bool {
		st, err := pvsproxy.Query(t.Context(), control)
		if err != nil {
			return false
		}
		last = st
		if len(st.VIFs) != len(want) {
			return false
		}
		for i := range want {
			if st.VIFs[i].DomID != want[i].DomID || st.VIFs[i].DevID != want[i].DevID ||
				st.VIFs[i].Settings.Site != want[i].Settings.Site {
				return false
			}
		}
		return true
	}, wait, 5*time.Millisecond, "last status: %+v", &last)
	if len(want) > 0 {
		require.Equal(t, want[0].Settings, last.VIFs[0].Settings)
		require.Equal(t, []string{want[0].Settings.Site}, last.Sites)
	}
}
