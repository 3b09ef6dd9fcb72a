package vm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// TestVMActor_HomeHasWhatLinuxReads checks the domain home against what
// libxl writes and a Linux PV guest and xenconsoled read.
func TestVMActor_HomeHasWhatLinuxReads(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)
	home := "/local/domain/" + domid.String()
	for key, want := range map[string]string{
		"name": spec.Name, "domid": domid.String(), "vm": "/vm/" + spec.UUID,
		"control/platform-feature-multiprocessor-suspend": "1",
		"control/platform-feature-xs_reset_watches":       "1",
		"console/type": "xenconsoled", "console/limit": "1048576",
	} {
		v, err := e.xs.Read(ctx, home+"/"+key)
		require.NoError(t, err, key)
		require.Equal(t, want, string(v), key)
	}
	for _, key := range []string{"memory/static-max", "memory/target", "console/ring-ref", "console/port",
		"store/ring-ref", "store/port"} {
		v, err := e.xs.Read(ctx, home+"/"+key)
		require.NoError(t, err, key)
		require.NotEmpty(t, v, key)
	}
	// The guest owns what it writes in: its devices' frontends, control
	// (shutdown acknowledgements, features) and data (its agent).
	for _, dir := range []string{"device", "control", "data"} {
		perms, err := e.xs.GetPerms(ctx, home+"/"+dir)
		require.NoError(t, err, dir)
		require.Equal(t, xenstore.Perm{Domid: uint32(domid), Access: xenstore.AccessNone}, perms[0], dir)
	}
	perms, err := e.xs.GetPerms(ctx, home)
	require.NoError(t, err)
	require.Equal(t, uint32(0), perms[0].Domid, "dom0 owns the home")
}
