// Package xen implements the hypervisor interface on a real Xen 4.17 host,
// with cgo against Debian's libxen-dev: libxenctrl for domain control,
// libxenguest's domain builder for PV guests, and libxenevtchn for the
// VIRQ_DOM_EXC event source.
//
// The real backend is compiled only with the build tag xen (on Linux, with
// cgo); the default build has a stub whose Open fails with
// errdefs.ErrNotImplemented, so the rest of xenactor stays pure Go.
// Supported says which one a binary has, and ControlDomain whether the
// process runs in the control domain of a Xen host.
//
// PV guests are built as libxl builds them; PVH guests boot straight into
// their kernel's PVH entry point, without firmware or ACPI tables (Linux
// then finds no RSDP, and its own power-off halts instead). What the
// backend does not do (yet): HVM guests (no device model on a real host)
// and live migration, save and restore (Migration's methods are
// errdefs.ErrNotImplemented). vCPUs are fixed when a domain is created, as
// in Xen 4.17: SetMaxVCPUs accepts at most the created count.
//
// Xen keeps no balloon target: the toolstack writes it to xenstore's
// memory/target. The backend remembers the target per domain and reports it
// in DomainInfo; it also remembers which domains it built, so a second build
// is refused.
package xen
