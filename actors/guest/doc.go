// Package guest turns what a guest's PV drivers and guest agent write into
// xenstore (data/, attr/, control/feature-*, memory/) into the VM's guest
// metrics: OS, PV driver version and features, memory, the addresses of each
// VIF, volumes, and the remaining data/ keys.
//
// # Never trust the guest
//
// Everything under a guest's home is written by the guest. Read walks it
// under a Quota: a byte budget (25 MiB by default, the reference's bound, as
// after XSA-354 replaced a quota counted in entries), a cap on nodes, on
// depth, on entries per directory and on value length. The walk stops cleanly
// when a cap is reached and sets GuestMetrics.Truncated with what was left
// out. Values that are not valid UTF-8 are dropped, control characters are
// stripped, and numbers or addresses that do not parse are ignored: a hostile
// guest gets incomplete metrics, never an error or an unbounded read.
//
// # The actor
//
// One guest actor runs per domain of a VM, as the child "guest" of the VM
// actor (actors/vm), which spawns it when the VM gets a domain and stops it
// when the domain goes. The VM actor sends Refresh when a watch says the
// guest wrote something. The actor reads in a goroutine, at most one read at
// a time and at most one read per interval (1 s by default), coalescing the
// refreshes that arrive meanwhile into one trailing read, so a guest
// rewriting data/updated in a loop costs bounded CPU and its last write is
// never missed. Only when the metrics changed does it announce "vm/<uuid>"
// to its Notifier and send a MetricsChanged with a copy of them to its
// Owner (the VM actor, which caches them for StatVM and announces the
// change itself). Stopping the actor cancels the read in flight.
//
// A read that panics (a parser bug met on a guest's input, say) panics the
// actor, so that its supervisor restarts this guest actor only; the new
// incarnation reads again at once.
package guest
