package host

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/actors/vm"
)

// Client is the Go API of the host actor.
type Client struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// NewClient returns a client of the host actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{system: system, pid: pid}
}

// PID returns the host actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// AddVM registers spec and returns a client of its VM actor.
func (c Client) AddVM(ctx context.Context, spec vm.Spec) (vm.Client, error) {
	return c.vm(ctx, &AddVM{Spec: spec})
}

// RemoveVM forgets the Halted VM uuid.
func (c Client) RemoveVM(ctx context.Context, uuid string) error {
	_, err := c.vm(ctx, &RemoveVM{UUID: uuid})
	return err
}

// VM returns a client of the actor of VM uuid.
func (c Client) VM(ctx context.Context, uuid string) (vm.Client, error) {
	return c.vm(ctx, &VM{UUID: uuid})
}

// ListVMs returns every VM with its power state, sorted by uuid.
func (c Client) ListVMs(ctx context.Context) ([]VMInfo, error) {
	reply, err := request.Ask[*ListVMsReply](ctx, c.system.Root, c.pid, &ListVMs{}, nil)
	if err != nil {
		return nil, err
	}
	return reply.VMs, nil
}

// Daemons returns the latest status of every daemon the host was told of,
// sorted by name.
func (c Client) Daemons(ctx context.Context) ([]daemons.Status, error) {
	reply, err := request.Ask[*ListDaemonsReply](ctx, c.system.Root, c.pid, &ListDaemons{}, nil)
	if err != nil {
		return nil, err
	}
	return reply.Daemons, nil
}

// PIDs returns the PIDs of the host's service actors.
func (c Client) PIDs(ctx context.Context) (PIDs, error) {
	reply, err := request.Ask[*PIDs](ctx, c.system.Root, c.pid, &GetPIDs{}, nil)
	if err != nil {
		return PIDs{}, err
	}
	return *reply, nil
}

// Tasks returns the PID of the task registry.
func (c Client) Tasks(ctx context.Context) (*actor.PID, error) {
	p, err := c.PIDs(ctx)
	return p.Tasks, err
}

// Events returns the PID of the update stream.
func (c Client) Events(ctx context.Context) (*actor.PID, error) {
	p, err := c.PIDs(ctx)
	return p.Events, err
}

func (c Client) vm(ctx context.Context, msg any) (vm.Client, error) {
	reply, err := request.Ask[*VMReply](ctx, c.system.Root, c.pid, msg, nil)
	if err != nil {
		return vm.Client{}, err
	}
	if reply.Err != nil {
		return vm.Client{}, reply.Err
	}
	return vm.NewClient(c.system, reply.PID), nil
}
