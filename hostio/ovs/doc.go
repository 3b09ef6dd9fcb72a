// Package ovs is the Open vSwitch boundary: the bridges of dom0 and the
// ports that VIF hotplug puts on them, tagged, as the reference's vif
// script does, with the VM, VIF and network ids in the interface's
// external-ids (ExternalIDs).
//
// Switch is the interface; Vsctl drives a real Open vSwitch through
// ovs-vsctl (ovsdb-server holds the rows, ovs-vswitchd applies them), and
// Sim is an in-memory switch with the same behaviour and the same errors,
// for the simulated host. hostio/ovs/ovstest holds the conformance suite
// both pass and a private Open vSwitch in user space for tests.
package ovs
