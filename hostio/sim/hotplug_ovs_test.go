package sim_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/ovs/ovstest"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// TestHotplug_VIFPortOnSwitch boots a guest with a VIF on a simulated host
// whose switch is the in-memory simulator, then a real Open vSwitch in
// user space: hotplug puts the VIF's port on xenbr0 with the reference's
// external-ids, and removing the VIF deletes the port. With the real
// switch, killing ovs-vswitchd loses nothing: ovsdb-server holds the rows.
func TestHotplug_VIFPortOnSwitch(t *testing.T) {
	for _, tc := range []struct {
		name string
		real bool
	}{{"sim", false}, {"ovs", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			var sw ovs.Switch = ovs.NewSim()
			var srv *ovstest.Server
			if tc.real {
				srv = ovstest.Start(t)
				sw = srv.Switch()
			}
			h, err := sim.New(sim.Config{Switch: sw, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = h.Close() })
			require.Equal(t, sw, h.Switch())
			b, err := simtest.NewBooter(ctx, h)
			require.NoError(t, err)
			t.Cleanup(b.Close)

			vm := simtest.VM{UUID: "0ec00fdc-8127-4817-80d4-79d61797f87a",
				VIFUUID: "e41c690e-c0a1-4130-8e95-b9a505db2f3c", NetworkUUID: "9334aa83-6960-42e5-a463-5acc05295af4"}
			id, err := b.BootVM(ctx, "sim:linux", vm)
			require.NoError(t, err)
			k := sim.DeviceKey{Class: sim.VIF, Frontend: uint32(id), DevID: 0}
			port := sim.VifName(uint32(id), 0)
			mac, err := simtest.Dom0(t, h).Read(ctx, k.BackendPath()+"/mac")
			require.NoError(t, err)
			want := map[string]string{ovs.KeyVMUUID: vm.UUID, ovs.KeyVIFUUID: vm.VIFUUID, ovs.KeyIfaceID: vm.VIFUUID,
				ovs.KeyNetworkUUID: vm.NetworkUUID, ovs.KeyAttachedMAC: string(mac)}
			requirePort := func(msg string) {
				t.Helper()
				ports, err := sw.ListPorts(ctx, "xenbr0")
				require.NoError(t, err, msg)
				require.Equal(t, []string{port}, ports, msg)
				ids, err := sw.PortExternalIDs(ctx, port)
				require.NoError(t, err, msg)
				require.Equal(t, want, ids, msg)
			}
			requirePort("after boot")

			if tc.real {
				srv.KillVswitchd(t)
				requirePort("with ovs-vswitchd killed")
				srv.StartVswitchd(t)
				requirePort("with ovs-vswitchd back")
			}

			require.NoError(t, h.Hotplug().Remove(ctx, k))
			ports, err := sw.ListPorts(ctx, "xenbr0")
			require.NoError(t, err)
			require.Empty(t, ports, "hotplug remove deleted the port")
			_, err = sw.PortExternalIDs(ctx, port)
			require.True(t, errdefs.IsNotFound(err), "%v", err)
			_, attached := h.NetDevs().Bridge(port)
			require.False(t, attached)
		})
	}
}

// TestHotplug_VIFWithoutIDs: a VIF whose VM wrote no uuids gets only the
// keys it has sources for (the MAC), as the reference's script leaves out
// what it cannot read.
func TestHotplug_VIFWithoutIDs(t *testing.T) {
	h := simtest.NewHost(t)
	b, err := simtest.NewBooter(t.Context(), h)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	id, err := b.Boot(t.Context(), "sim:linux")
	require.NoError(t, err)
	ids, err := h.Switch().PortExternalIDs(t.Context(), sim.VifName(uint32(id), 0))
	require.NoError(t, err)
	require.Equal(t, []string{ovs.KeyAttachedMAC}, mapKeys(ids))
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
