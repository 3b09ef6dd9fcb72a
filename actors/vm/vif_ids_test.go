package vm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenbus"
)

func TestVMActor_VIFIdsTagTheSwitchPort(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.VIFs[0].UUID = "6b3d5f4e-1c2a-4e8b-9f7d-0a1b2c3d4e5f"
	spec.VIFs[0].Network = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	c := e.spawnVM(t, spec, nil)
	domid := startRunning(t, e, c)
	ctx := ctxFor(t)

	port := sim.VifName(uint32(domid), 0)
	ids, err := e.h.Switch().PortExternalIDs(ctx, port)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		ovs.KeyVMUUID:      spec.UUID,
		ovs.KeyAttachedMAC: spec.VIFs[0].MAC,
		ovs.KeyVIFUUID:     spec.VIFs[0].UUID,
		ovs.KeyIfaceID:     spec.VIFs[0].UUID,
		ovs.KeyNetworkUUID: spec.VIFs[0].Network,
	}, ids)

	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
	ports, err := e.h.Switch().ListPorts(ctx, spec.VIFs[0].Bridge)
	require.NoError(t, err)
	require.NotContains(t, ports, port)
	ok, err := e.xs.Exists(ctx, xenbus.PrivateRoot(uint32(domid)))
	require.NoError(t, err)
	require.False(t, ok, "the domain's private tree is removed")
}

func TestVMActor_VIFIdsAreValidated(t *testing.T) {
	spec := newSpec("sim:linux")
	spec.VIFs[0].UUID = "not-a-uuid"
	require.ErrorContains(t, spec.Validate(), "VIF 0: uuid")
}
