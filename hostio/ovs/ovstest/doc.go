// Package ovstest holds the conformance suite every ovs.Switch passes
// (Run), against the simulator and against a real Open vSwitch, and a
// private Open vSwitch in user space for tests (Start): ovsdb-server and
// ovs-vswitchd in a temporary directory, on a Unix socket, stopped when
// the test ends.
package ovstest
