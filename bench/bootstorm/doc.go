// Package bootstorm measures a boot storm on a toolstack driven as a
// client drives it (Daemon): VMs with one VBD and one VIF each are added and
// started a batch at a time, from the start request to its task's success;
// then the start latency of a small probe batch is measured while more and
// more VMs already run, against the lowest level of the same run as
// baseline: a flat curve means that running VMs cost a start nothing.
//
// The package knows no actor: cmd/xenactor-bench runs it on the daemon's
// actor tree in process, on a simulated Xen host (xenactor-bench boot).
package bootstorm
