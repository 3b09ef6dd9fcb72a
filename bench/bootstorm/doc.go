// Package bootstorm measures a boot storm through the real actor tree: the
// host actor (actors/host) with its VM and device actors, a state directory
// in a temporary directory, on a simulated Xen host (hostio/sim), as
// cmd/xenactord wires them.
//
// The storm adds VMs with one VBD and one VIF each and starts them a batch
// at a time, from StartVM sent to the task's success; the curve measures the
// start latency of a small probe batch while more and more VMs already run,
// against the lowest level of the same run as baseline: a flat curve means
// that running VMs cost a start nothing.
package bootstorm
