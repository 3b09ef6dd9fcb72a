// Package migrate is the wire of live migration between two hosts: the
// source dials the destination's migration listener and drives one
// connection through the steps of xenopsd's migration, each a
// synchronisation point answered with a status frame (a 2-byte big-endian
// length: 0 is success, anything else the length of the error text that
// follows).
//
// The sequence on the connection:
//
//  1. hello: the source sends the token; the destination checks it first
//     thing and answers a status (a wrong token ends the connection).
//  2. metadata: the source sends the VM's metadata (opaque to this
//     package); the destination prepares an empty domain and its devices'
//     backends (Destination.Prepare) and answers a status.
//  3. memory: the source streams the domain's image, optionally through
//     flate: every page while the guest runs, then rounds of the pages the
//     hypervisor's dirty log names, until fewer than DirtyThreshold pages
//     are dirty or MaxIterations rounds were sent; then the guest is
//     stopped (SendConfig.Suspend, a pause by default) and the last dirty
//     pages, the vCPU contexts and the image's End record follow
//     (hypervisor.Migration.Save with DirtyOnly). The destination restores
//     the stream into the prepared domain (Incoming.Restore) and answers a
//     status.
//  4. commit: the source sends a success status; the destination plugs the
//     devices and unpauses the domain (Incoming.Commit: downtime ends) and
//     answers a status.
//
// Any failure before the commit is sent leaves the guest running on the
// source (Send resumes it) and the destination aborts what it prepared
// (Incoming.Abort). Once the commit is sent the source's copy is never
// resumed by Send: a destination that reports success owns the VM; one
// that fails its commit says so with an error status and the source
// resumes its copy; a connection lost after the commit leaves the outcome
// unknown and the source's domain paused (ErrOutcomeUnknown).
//
// Receiving has its own capacity (Server.MaxReceivers), separate from any
// other work of the host, so migrations in both directions between two
// hosts never wait on each other (xen-api PR 6470's deadlock).
package migrate
