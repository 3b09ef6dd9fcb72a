package daemon_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
)

func TestChooseHypervisor_Auto(t *testing.T) {
	dir := t.TempDir()
	dom0 := filepath.Join(dir, "dom0")
	require.NoError(t, os.WriteFile(dom0, []byte("control_d\n"), 0o600))
	domU := filepath.Join(dir, "domU")
	require.NoError(t, os.WriteFile(domU, nil, 0o600))

	for _, caps := range []string{filepath.Join(dir, "missing"), domU} {
		ch, err := daemon.Config{XenCapabilities: caps}.ChooseHypervisor()
		require.NoError(t, err)
		require.Equal(t, daemon.Choice{Kind: daemon.HypervisorSim, Reason: "no Xen control domain"}, ch, caps)
	}

	ch, err := daemon.Config{XenCapabilities: dom0}.ChooseHypervisor()
	require.NoError(t, err)
	if xen.Supported {
		require.Equal(t, "xen (control domain found in "+dom0+")", ch.String())
	} else {
		require.Equal(t, "sim (control domain found in "+dom0+", but this build has no Xen support: build with "+
			"-tags xen)", ch.String())
	}
}

func TestChooseHypervisor_Explicit(t *testing.T) {
	dir := t.TempDir()
	dom0 := filepath.Join(dir, "dom0")
	require.NoError(t, os.WriteFile(dom0, []byte("control_d\n"), 0o600))

	ch, err := daemon.Config{Hypervisor: daemon.HypervisorSim, XenCapabilities: dom0}.ChooseHypervisor()
	require.NoError(t, err)
	require.Equal(t, daemon.HypervisorSim, ch.Kind, "sim even in a control domain")
	require.Empty(t, ch.Remote())

	ch, err = daemon.Config{Hypervisor: "unix:/run/h.sock", Xenstored: "/run/xs.sock"}.ChooseHypervisor()
	require.NoError(t, err)
	require.Equal(t, "/run/h.sock", ch.Remote())

	_, err = daemon.Config{Hypervisor: daemon.HypervisorXen}.ChooseHypervisor()
	if xen.Supported {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, daemon.ErrUsage)
		require.ErrorContains(t, err, "build with -tags xen")
	}
	_, err = daemon.Config{Hypervisor: daemon.HypervisorXen, Switch: daemon.SwitchOVS}.ChooseHypervisor()
	require.ErrorIs(t, err, daemon.ErrUsage)
	_, err = daemon.Config{Hypervisor: daemon.HypervisorXen, Xenguest: "/bin/xg"}.ChooseHypervisor()
	require.ErrorIs(t, err, daemon.ErrUsage)
}
