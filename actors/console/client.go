package console

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of the console daemon's actor.
type Client struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// NewClient returns a client of the console actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{system: system, pid: pid}
}

// PID returns the actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Consoles returns the pty of each domain served, by domid.
func (c Client) Consoles(ctx context.Context) (map[uint32]string, error) {
	r, err := request.Ask[*Consoles](ctx, c.system.Root, c.pid, &GetConsoles{}, nil)
	if err != nil {
		return nil, err
	}
	return r.TTYs, nil
}
