// Package console is the project's console daemon, the stand-in for
// xenconsoled where there is no hypervisor to run the real one: it serves
// the PV console ring of each domain (struct xencons_interface of Xen's
// public/io/console.h, whose layout ring.go gives) through dom0's page
// access to the guest's memory (Pages).
//
// For each domain a Console drains what the guest printed in the ring's
// output half into <log dir>/guest-<domid>.log (capped, rotated once to
// .1) and onto a pseudo-terminal allocated from /dev/ptmx, whose slave
// path goes to console/tty, and copies what is typed on that terminal
// into the ring's input half. Lookup, Domains and WriteTTY read and write
// the xenstore keys. The actor that watches @introduceDomain and
// @releaseDomain and runs one Console per domain is actors/console.
//
// Event channels do not exist in the simulator, so a Console is polled:
// Poll does one round, and the caller decides the interval. A guest is
// never trusted: indexes that say more is queued than a ring holds reset
// the ring, with one log line, and no read is larger than the ring.
package console
