package vm

// DaemonFault is a host daemon the VM depends on (the switch's daemons for
// a VM with VIFs, say) that was given up on after failing too often; its
// VMStatus lists it under DaemonFaults until the daemon runs again.
type DaemonFault struct {
	Name string // the daemon, e.g. "ovs-vswitchd"
	Err  string // its last failure
}
