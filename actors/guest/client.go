package guest

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of a guest actor.
type Client struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewClient returns a client of the guest actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{root: system.Root, pid: pid}
}

// PID returns the guest actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Refresh asks for a new read of the guest's reports; see Refresh.
func (c Client) Refresh() { c.root.Send(c.pid, &Refresh{}) }

// Metrics returns the latest metrics; zero until the first read finished.
func (c Client) Metrics(ctx context.Context) (GuestMetrics, error) {
	r, err := c.get(ctx)
	return r.Metrics, err
}

// Stats returns how much reading the actor did.
func (c Client) Stats(ctx context.Context) (Stats, error) {
	r, err := c.get(ctx)
	return r.Stats, err
}

func (c Client) get(ctx context.Context) (GetMetricsReply, error) {
	reply, err := request.Ask[*GetMetricsReply](ctx, c.root, c.pid, &GetMetrics{}, nil)
	if err != nil {
		return GetMetricsReply{}, err
	}
	return *reply, nil
}
