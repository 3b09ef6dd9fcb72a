// Package devicemodel runs the device model of one HVM domain: a QEMU
// process controlled over QMP (hostio/qmp).
//
// Start launches QEMU with its QMP socket, a pid file and a log file in a
// run directory, waits (bounded) until QMP answers, and returns a DM: QMP
// access, Done when the process dies (seen at once, by the Wait of the
// child), and Stop (QMP quit, then SIGTERM and SIGKILL after a grace). A
// device model outlives the daemon that started it, as the domain does:
// Adopt takes over a running one after a daemon restart (pid file,
// /proc/<pid>/exe and command line checked, QMP reconnected).
//
// The arguments are built in one place, Config.Args: SimArgs for the
// simulated host, where there is no Xen machine type without a hypervisor
// (-machine none), and XenArgs for a real Xen host (-xen-domid N -machine
// xenfv).
//
// QEMU is the implementation of the Launcher and Model interfaces that the
// VM actors use.
package devicemodel
