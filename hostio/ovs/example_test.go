package ovs_test

import (
	"context"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/hostio/ovs"
)

// A VIF's port on xenbr0, tagged as the reference's vif hotplug script
// tags it, in the in-memory switch of the simulated host.
func ExampleNewSim() {
	ctx := context.Background()
	sw := ovs.NewSim()
	_ = sw.AddBridge(ctx, "xenbr0")
	_ = sw.AddPort(ctx, "xenbr0", "vif3.0", map[string]string{
		ovs.KeyVMUUID:      "0ec00fdc-8127-4817-80d4-79d61797f87a",
		ovs.KeyAttachedMAC: "00:16:3e:00:03:00",
	})
	ports, _ := sw.ListPorts(ctx, "xenbr0")
	ids, _ := sw.PortExternalIDs(ctx, "vif3.0")
	fmt.Println(ports, ids[ovs.KeyVMUUID])
	// Output: [vif3.0] 0ec00fdc-8127-4817-80d4-79d61797f87a
}

// The real switch of a host: ovs-vsctl on the system's ovsdb-server, user-
// space bridges.
func ExampleNewVsctl() {
	sw := ovs.NewVsctl(ovs.VsctlConfig{DB: "/var/run/openvswitch/db.sock", DatapathType: "netdev",
		Timeout: 30 * time.Second})
	var _ ovs.Switch = sw
}
