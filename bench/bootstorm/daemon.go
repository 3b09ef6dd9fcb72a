package bootstorm

import "context"

// VM is one VM of the benchmark: PV, one vCPU, MemoryKiB, booting Image,
// with one VBD (DiskParams, devid 51712) and one VIF (MAC on Bridge, devid
// 0).
type VM struct {
	UUID       string
	Name       string
	MemoryKiB  uint64
	Image      string
	DiskParams string
	MAC        string
	Bridge     string
}

// Daemon is the toolstack under test, driven as a client drives it.
type Daemon interface {
	// AddVM registers vm.
	AddVM(ctx context.Context, vm VM) error
	// StartVM starts VM uuid and returns once its task succeeded (or
	// with the task's failure).
	StartVM(ctx context.Context, uuid string) error
	// ShutdownVM shuts VM uuid down hard and returns once its task
	// succeeded.
	ShutdownVM(ctx context.Context, uuid string) error
	// Count returns the VMs the toolstack reports Running and the guest
	// domains (dom0 aside) the host holds.
	Count(ctx context.Context) (running, domains int, err error)
	// Close stops the daemon and its host and removes what they left.
	Close() error
}

// NewDaemon starts a fresh daemon on a fresh host with room for vms VMs of
// memKiB each.
type NewDaemon func(ctx context.Context, vms int, memKiB uint64) (Daemon, error)
