// Package cxenstored runs Debian's real C xenstored (package xen-utils-4.17)
// without a hypervisor, as a peer for compatibility tests and side-by-side
// benchmarks of the project's own xenstored.
//
// The daemon runs with LD_PRELOAD pointing at a small shim (xs_nohv.c,
// embedded in this package and compiled with gcc on first use) that stubs
// the libxenctrl, libxenevtchn and libxengnttab calls xenstored makes at
// start-up and redirects /proc/xen/xsd_{port,kva} to files in the daemon's
// directory. Clients connect to the Unix socket at Daemon.SocketPath; point
// xenstore-utils at it with XENSTORED_PATH.
//
// What works: every socket operation (read, write, directory, rm,
// permissions, watches, transactions with EAGAIN on conflict,
// introduce/release, @introduceDomain/@releaseDomain). What does not: guest
// rings and event channels (no guest ever connects through a ring), and the
// daemon believes every domain id is alive. The daemon listens with a
// backlog of 1: open many connections one after another, not all at once.
// Quotas do not apply to dom0 socket connections.
//
// Tests use StartForTest, which skips (or fails, with
// XENACTOR_REQUIRE_EXTERNAL set) when xenstored or gcc is not installed.
package cxenstored
