package watches

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of the watches actor.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the watches actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{root: system.Root, pid: pid}
}

// PID returns the watches actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// WatchDomain adds the per-domain watches of domid; see WatchDomain.
func (c Client) WatchDomain(ctx context.Context, domid uint32) error {
	return c.do(ctx, &WatchDomain{DomID: domid})
}

// UnwatchDomain removes the per-domain watches of domid; see UnwatchDomain.
func (c Client) UnwatchDomain(ctx context.Context, domid uint32) error {
	return c.do(ctx, &UnwatchDomain{DomID: domid})
}

// Watched returns the watched domains in ascending order.
func (c Client) Watched(ctx context.Context) ([]uint32, error) {
	st, err := c.Status(ctx)
	return st.Watched, err
}

// Status returns the actor's state: connected, watched domains, failing
// registrations.
func (c Client) Status(ctx context.Context) (Status, error) {
	st, err := request.Ask[*Status](ctx, c.root, c.pid, &GetStatus{}, nil)
	if err != nil {
		return Status{}, err
	}
	return *st, nil
}

func (c Client) do(ctx context.Context, msg any) error {
	reply, err := request.Ask[*Reply](ctx, c.root, c.pid, msg, nil)
	if err != nil {
		return err
	}
	return reply.Err
}

// ToPID returns a Notifier that sends each notification to pid as a
// *NeedsAttention.
func ToPID(system *actor.ActorSystem, pid *actor.PID) Notifier {
	root := system.Root
	return func(_ context.Context, n NeedsAttention) { root.Send(pid, &n) }
}
