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
// The simulated builder leaves a note of the booted image in the guest's
// memory, so a domain restored from a saved image (a resume, or the
// receiving end of a migration) runs the same guest: its kernel starts
// when the new domain is introduced and unpaused, and its frontends go
// through the XenBus handshake again with the new domain's backends.
package sim
