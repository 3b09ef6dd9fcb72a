package vm

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of one VM actor.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the VM actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{root: system.Root, pid: pid}
}

// PID returns the VM actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Start queues a start and returns its task id.
func (c Client) Start(ctx context.Context, paused bool) (string, error) {
	return c.op(ctx, &StartVM{Paused: paused})
}

// Unpause queues an unpause and returns its task id.
func (c Client) Unpause(ctx context.Context) (string, error) { return c.op(ctx, &UnpauseVM{}) }

// Pause queues a pause and returns its task id.
func (c Client) Pause(ctx context.Context) (string, error) { return c.op(ctx, &PauseVM{}) }

// Shutdown queues a clean or hard shutdown and returns its task id.
func (c Client) Shutdown(ctx context.Context, hard bool) (string, error) {
	return c.op(ctx, &ShutdownVM{Hard: hard})
}

// Reboot queues a clean or hard reboot and returns its task id.
func (c Client) Reboot(ctx context.Context, hard bool) (string, error) {
	return c.op(ctx, &RebootVM{Hard: hard})
}

// SetMemoryTarget queues a change of the balloon target and returns its
// task id.
func (c Client) SetMemoryTarget(ctx context.Context, kib uint64) (string, error) {
	return c.op(ctx, &SetMemoryTarget{KiB: kib})
}

// SetVCPUs queues a change of the online vCPUs and returns its task id.
func (c Client) SetVCPUs(ctx context.Context, n int) (string, error) {
	return c.op(ctx, &SetVCPUs{N: n})
}

// PlugVBD queues the plug of vbd and returns its task id.
func (c Client) PlugVBD(ctx context.Context, vbd VBD) (string, error) {
	return c.op(ctx, &PlugVBD{VBD: vbd})
}

// UnplugVBD queues the unplug of VBD devid and returns its task id.
func (c Client) UnplugVBD(ctx context.Context, devid int, force bool) (string, error) {
	return c.op(ctx, &UnplugVBD{DevID: devid, Force: force})
}

// PlugVIF queues the plug of vif and returns its task id.
func (c Client) PlugVIF(ctx context.Context, vif VIF) (string, error) {
	return c.op(ctx, &PlugVIF{VIF: vif})
}

// UnplugVIF queues the unplug of VIF devid and returns its task id.
func (c Client) UnplugVIF(ctx context.Context, devid int, force bool) (string, error) {
	return c.op(ctx, &UnplugVIF{DevID: devid, Force: force})
}

// Suspend queues a suspend to the image file path and returns its task
// id.
func (c Client) Suspend(ctx context.Context, path string) (string, error) {
	return c.op(ctx, &SuspendVM{Path: path})
}

// Migrate queues a migration of the running VM (MigrateVM) and returns
// its task id.
func (c Client) Migrate(ctx context.Context, msg MigrateVM) (string, error) {
	return c.op(ctx, &msg)
}

// Receive queues the receive of an incoming migration into the Halted VM
// (ReceiveVM) and returns its task id.
func (c Client) Receive(ctx context.Context, in *Incoming) (string, error) {
	return c.op(ctx, &ReceiveVM{In: in})
}

// Resume queues a resume of the Suspended VM and returns its task id.
func (c Client) Resume(ctx context.Context, paused bool) (string, error) {
	return c.op(ctx, &ResumeVM{Paused: paused})
}

// Destroy queues a destroy and returns its task id.
func (c Client) Destroy(ctx context.Context) (string, error) { return c.op(ctx, &DestroyVM{}) }

// Stat returns the VM's status.
func (c Client) Stat(ctx context.Context) (*VMStatus, error) {
	return request.Ask[*VMStatus](ctx, c.root, c.pid, &StatVM{}, nil)
}

func (c Client) op(ctx context.Context, msg any) (string, error) {
	reply, err := request.Ask[*OperationReply](ctx, c.root, c.pid, msg, nil)
	if err != nil {
		return "", err
	}
	return reply.TaskID, reply.Err
}
