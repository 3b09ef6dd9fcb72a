// Package console is the console daemon as actors: the project's own
// stand-in for xenconsoled (hostio/console), for hosts without a
// hypervisor to run the real one. On real Xen the real xenconsoled is
// supervised by actors/daemons instead.
//
// The daemon's actor (Props; one per host, started by the daemon
// assembly after the host actor) watches @introduceDomain and
// @releaseDomain on its own dom0 xenstore connection. For each domain whose
// console/ring-ref is set and whose console/type is xenconsoled (or unset)
// it spawns a child named after the domid, which:
//   - opens <LogDir>/guest-<domid>.log and a pty, and writes the pty's path
//     to console/tty;
//   - polls the ring, every PollMin after it moved and up to PollMax while
//     idle, and at once when input is typed on the pty or a watch event
//     names the domain (there are no event channels in the simulator);
//   - stops when its domain is gone (the ring page cannot be read), after a
//     last drain, closing its pty.
//
// A panic in one domain's child restarts that child alone (ChildSupervisor):
// the domain gets a new pty and console/tty, and its log goes on. A guest
// that writes garbage indexes has its ring reset with one log line; it
// never affects the others. A lost xenstore connection restarts the
// daemon's actor, which dials again and serves every domain afresh.
package console
