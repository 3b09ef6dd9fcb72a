// Package hvsim simulates the Xen hypervisor behind the hypervisor
// interface, with real bytes: each domain has sparse 4 KiB pages, allocated
// on first write, whose contents survive save, restore and migration
// checksum-exactly.
//
// The simulator runs no goroutines and no timers, so an idle domain costs
// only its memory and ten thousand domains fit on a small machine. Time
// passes lazily: whenever a domain is observed (DomainInfo, ListDomains, the
// dirty log, Save, ReadPages, the guest-side methods) the simulator accounts
// the running time since the last observation as CPU time and, for a domain
// with a dirty rate, writes that many pages chosen by a per-domain seeded
// generator, marking them in the dirty log.
//
// Beyond the interface, Sim has methods for the rest of the simulated host
// and for tests: the guest side (GuestShutdown, WritePage, ReadPage,
// SetDirtyRate), inspection (MemoryChecksum, FreeMemoryKiB, GuestWrites),
// dom0 backends holding a domain's memory (Hold) and a change hook
// (OnChange).
package hvsim
