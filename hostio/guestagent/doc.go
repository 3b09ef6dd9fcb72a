// Package guestagent is what a guest agent reports about its guest, and how
// it reports it: XenServer's xe-daemon's xenstore keys (data/os_*,
// data/meminfo_*, attr/vif/<devid>/ipv4|ipv6/<n>, attr/PVAddons/*, ...)
// built from a Snapshot of the guest's OS, written only when they changed,
// in one transaction with data/updated, and all again when the domain's
// unique-domain-id says the guest was resumed or migrated.
//
// The simulated guests' agent (hostio/sim) and the real one
// (cmd/xenactor-guest-agent, reading a Linux guest through Linux) both
// report through it, so the toolstack sees the same keys from either.
package guestagent
