package xen_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestControlDomain(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		text string
		want bool
	}{
		"dom0":            {"control_d\n", true},
		"dom0 among more": {"foo, control_d,bar\n", true},
		"domU":            {"", false},
		"other caps":      {"xen_pv\ncontrol_dx\n", false},
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o600))
		got, err := xen.ControlDomain(path)
		require.NoError(t, err, name)
		require.Equal(t, tc.want, got, name)
	}

	got, err := xen.ControlDomain(filepath.Join(dir, "missing"))
	require.NoError(t, err, "a missing file is no Xen")
	require.False(t, got)

	_, err = xen.ControlDomain(dir)
	require.Error(t, err, "a directory cannot be read")
}

func TestStubOrBackend(t *testing.T) {
	if xen.Supported {
		t.Skip("this build has the Xen backend")
	}
	_, err := xen.Open(xen.Config{})
	require.True(t, errdefs.IsNotImplemented(err), "%v", err)
	require.ErrorContains(t, err, "-tags xen")
}
