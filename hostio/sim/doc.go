// Package sim is the simulated Xen host: the world outside the toolstack
// when there is no hypervisor. It reaches the toolstack only the way the
// real host does, through xenstore and the hypervisor interface.
//
// The dom0 kernel's block and network backends (blkback, netback) watch
// the backend trees on dom0's xenbus connection and move XenBus states as
// the real drivers do. Each guest, once unpaused, runs a simulated kernel on
// its own domain connection (relative paths, guest permissions, quotas): PV
// frontends doing the handshake, control/shutdown handled as Linux does, and
// a guest agent reporting into data/ and attr/. Guest profiles include
// guests without PV drivers and hostile ones.
//
// Hotplug, the step the toolstack runs itself, puts a VIF's interface on
// its bridge as a port of dom0's Open vSwitch (Config.Switch: an in-memory
// ovs.Sim by default, or a real switch through ovs.Vsctl), tagged with the
// VM's, the VIF's and the network's ids as the reference's vif script
// tags it, and deletes the port when the VIF goes.
//
// The simulated builder leaves a note of the booted image in the guest's
// memory, so a domain restored from a saved image (a resume, or the
// receiving end of a migration) runs the same guest: its kernel starts
// when the new domain is introduced and unpaused, and its frontends go
// through the XenBus handshake again with the new domain's backends.
package sim
