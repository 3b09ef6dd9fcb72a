// Package simtest drives the simulated host the way a toolstack would, for
// tests and benchmarks outside package sim: it boots guests with a VBD and
// a VIF through the hypervisor interface and a dom0 xenstore connection,
// and waits for XenBus states with one watch.
package simtest
