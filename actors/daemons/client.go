package daemons

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// Client is the Go API of a daemon's actor.
type Client struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// NewClient returns a client of the daemon actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{system: system, pid: pid}
}

// PID returns the actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Status returns the daemon's Status.
func (c Client) Status(ctx context.Context) (Status, error) {
	s, err := request.Ask[*Status](ctx, c.system.Root, c.pid, &GetStatus{}, nil)
	if err != nil {
		return Status{}, err
	}
	return *s, nil
}

// Reset starts a daemon that was given up on again; see Reset.
func (c Client) Reset() { c.system.Root.Send(c.pid, &Reset{}) }

// Stop stops the actor and, gracefully, the daemon's process, and waits
// until the actor has stopped or ctx ends.
func (c Client) Stop(ctx context.Context) error {
	return stopAndWait(ctx, c.system, c.pid)
}

// Detach stops the actor but leaves the daemon's process running, for the
// next xenactord to adopt, and waits until the actor has stopped or ctx
// ends.
func (c Client) Detach(ctx context.Context) error {
	if _, err := request.Ask[*Detached](ctx, c.system.Root, c.pid, &Detach{}, nil); err != nil {
		return err
	}
	return stopAndWait(ctx, c.system, c.pid)
}

// stopAndWait stops pid and waits for its Terminated through a watcher
// actor, with no timer of its own.
func stopAndWait(ctx context.Context, system *actor.ActorSystem, pid *actor.PID) error {
	gone := make(chan struct{})
	watcher := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch msg := c.Message().(type) {
		case *actor.Started:
			c.Watch(pid)
			c.Stop(pid)
		case *actor.Terminated:
			if msg.Who.Equal(pid) {
				close(gone)
				c.Stop(c.Self())
			}
		}
	}))
	select {
	case <-gone:
		return nil
	case <-ctx.Done():
		system.Root.Stop(watcher)
		return ctx.Err()
	}
}
