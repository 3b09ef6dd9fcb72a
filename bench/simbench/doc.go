// Package simbench measures the simulated Xen host on its own: how fast
// guests boot on it when driven directly (create, build, introduce, one VBD
// and one VIF through the XenBus handshake, unpause), and what an idle
// simulated guest costs in memory, goroutines and CPU.
package simbench
