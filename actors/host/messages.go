package host

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// AddVM registers a VM: its spec is persisted in the state directory (kind
// "vm", id the uuid) and its actor vm/<uuid> spawned under domains. A uuid
// already registered fails errdefs.ErrExists. The reply is a VMReply.
type AddVM struct{ Spec vm.Spec }

// RemoveVM forgets a Halted VM: its record is deleted and its actor
// stopped. A VM that is not Halted fails errdefs.ErrBusy, an unknown one
// errdefs.ErrNotFound. So does one that still runs an operation (a start
// inside the hypervisor's create reads Halted) after a wait of up to 5 s
// for it to end, and one whose actor is being spawned (again). A VM whose
// actor failed and is not running (see Config.MaxRespawns) is removed
// after its domains are destroyed. The reply is a VMReply (PID nil).
type RemoveVM struct{ UUID string }

// VM asks for the PID of the actor of VM UUID, to drive it with vm.Client.
// The reply is a VMReply; an unknown uuid fails errdefs.ErrNotFound.
type VM struct{ UUID string }

// VMReply answers AddVM, RemoveVM and VM. Spec, in the reply to VM, is the
// VM's spec as its journal holds it (hot-plugged devices included).
type VMReply struct {
	PID  *actor.PID
	Spec vm.Spec
	Err  error
}

// ListVMs asks for every VM with its power state; the reply is a
// ListVMsReply, sorted by uuid. The VM actors are asked concurrently, off the
// host's mailbox.
type ListVMs struct{}

// VMInfo is one VM of a ListVMsReply. Err is set when its actor did not
// answer; PowerState is then Halted.
type VMInfo struct {
	Spec       vm.Spec
	PowerState vm.PowerState
	DomID      hypervisor.DomID
	Err        error
}

// ListVMsReply answers ListVMs.
type ListVMsReply struct{ VMs []VMInfo }

// GetPIDs asks for the PIDs of the host's service actors; the reply is a
// PIDs.
type GetPIDs struct{}

// PIDs answers GetPIDs.
type PIDs struct {
	Tasks   *actor.PID
	Events  *actor.PID
	Watches *actor.PID
	Domains *actor.PID
}

// private messages
type (
	spawnVM struct {
		name  string
		props *actor.Props
	}
	vmChanged  struct{ uuid string }
	vmMigrated struct{ uuid string }
	vmStatted  struct {
		uuid string
		seq  uint64
		st   *vm.VMStatus
	}
	removeChecked struct {
		uuid   string
		pid    *actor.PID
		st     *vm.VMStatus
		err    error
		sender *actor.PID
		// waited is set once the check waited for the VM's operations
		// to end.
		waited bool
	}
)
