package watches

import (
	"context"
	"fmt"

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

// Watched returns the watched domains in ascending order and whether the
// actor is connected to xenstored.
func (c Client) Watched(ctx context.Context) ([]uint32, bool, error) {
	res, err := request.Do(ctx, c.root, c.pid, &ListWatched{}, nil)
	if err != nil {
		return nil, false, err
	}
	reply, ok := res.(*ListWatchedReply)
	if !ok {
		return nil, false, fmt.Errorf("watches: unexpected reply %T to ListWatched", res)
	}
	return reply.DomIDs, reply.Connected, nil
}

func (c Client) do(ctx context.Context, msg any) error {
	res, err := request.Do(ctx, c.root, c.pid, msg, nil)
	if err != nil {
		return err
	}
	reply, ok := res.(*Reply)
	if !ok {
		return fmt.Errorf("watches: unexpected reply %T to %T", res, msg)
	}
	return reply.Err
}

// ToPID returns a Notifier that sends each notification to pid as a
// *NeedsAttention.
func ToPID(system *actor.ActorSystem, pid *actor.PID) Notifier {
	root := system.Root
	return func(_ context.Context, n NeedsAttention) { root.Send(pid, &n) }
}
