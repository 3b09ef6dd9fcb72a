package ovs_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/ovs/ovstest"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// TestVsctl_Conformance runs the suite against a real Open vSwitch in user
// space, one private server for all the subtests.
func TestVsctl_Conformance(t *testing.T) {
	srv := ovstest.Start(t)
	sw := srv.Switch()
	ovstest.Run(t, func(t *testing.T) ovs.Switch { return sw })
}

func TestVsctl_NoServer_Unavailable(t *testing.T) {
	progs := testenv.RequireExternal(t, "ovs-vsctl")
	sw := ovs.NewVsctl(ovs.VsctlConfig{Program: progs["ovs-vsctl"], DB: filepath.Join(t.TempDir(), "db.sock"),
		Timeout: 2 * time.Second})
	_, err := sw.ListPorts(t.Context(), "xenbr0")
	require.True(t, errdefs.IsUnavailable(err), "no ovsdb-server: %v", err)
}

func TestVsctl_NoProgram_Unavailable(t *testing.T) {
	sw := ovs.NewVsctl(ovs.VsctlConfig{Program: filepath.Join(t.TempDir(), "ovs-vsctl")})
	err := sw.AddBridge(t.Context(), "xenbr0")
	require.True(t, errdefs.IsUnavailable(err), "no ovs-vsctl: %v", err)
}

// TestVsctl_VswitchdKilled: without ovs-vswitchd a change times out while
// waiting to be applied, yet ovsdb-server holds it, and the rows survive
// until ovs-vswitchd comes back and applies them.
func TestVsctl_VswitchdKilled(t *testing.T) {
	srv := ovstest.Start(t)
	ctx := t.Context()
	sw := srv.Switch()
	require.NoError(t, sw.AddBridge(ctx, "xenbr0"))
	require.NoError(t, sw.AddPort(ctx, "xenbr0", "vif1.0", map[string]string{ovs.KeyVMUUID: "vm1"}))

	srv.KillVswitchd(t)
	require.False(t, srv.VswitchdRunning())
	ports, err := sw.ListPorts(ctx, "xenbr0")
	require.NoError(t, err)
	require.Equal(t, []string{"vif1.0"}, ports, "ovsdb-server keeps the rows")

	short := ovs.NewVsctl(ovs.VsctlConfig{DB: srv.DB, Timeout: time.Second})
	err = short.AddPort(ctx, "xenbr0", "vif2.0", nil)
	require.True(t, errdefs.IsTimeout(err), "waiting for a dead ovs-vswitchd: %v", err)
	ports, err = sw.ListPorts(ctx, "xenbr0")
	require.NoError(t, err)
	require.Equal(t, []string{"vif1.0", "vif2.0"}, ports, "the database took the change")

	srv.StartVswitchd(t)
	require.NoError(t, sw.AddPort(ctx, "xenbr0", "vif3.0", nil), "changes are applied again")
	ids, err := sw.PortExternalIDs(ctx, "vif1.0")
	require.NoError(t, err)
	require.Equal(t, map[string]string{ovs.KeyVMUUID: "vm1"}, ids)
}
