package vm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// A start writes the console keys from the build, and the guest's banner
// is in its console ring once it runs.
func TestVMActor_Start_WritesConsoleKeys(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	domid := startPaused(t, e, c)

	info, err := console.Lookup(ctx, e.xs, uint32(domid))
	require.NoError(t, err)
	rings, err := e.h.Sim().Rings(context.Background(), domid)
	require.NoError(t, err)
	require.Equal(t, console.Info{DomID: uint32(domid), RingRef: rings.ConsoleGFN, Port: rings.ConsolePort,
		Type: console.TypeXenconsoled}, info)
	limit, err := e.xs.Read(ctx, xenstore.DomainPath(uint32(domid))+"/console/limit")
	require.NoError(t, err)
	require.Equal(t, "1048576", string(limit))

	id, err := c.Unpause(ctx)
	e.succeed(t, id, err)
	require.Eventually(t, func() bool {
		page, err := e.h.Sim().ReadPage(context.Background(), domid, info.RingRef)
		require.NoError(t, err)
		out, err := console.Output(page)
		require.NoError(t, err)
		return strings.Contains(string(out), "Linux version")
	}, waitFor, tick)
}
