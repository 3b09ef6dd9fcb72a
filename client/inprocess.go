package client

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/await"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// abandonGrace is how long a call whose context ended still waits for the
// api actor's response before its future is released: longer than the
// api actor holds a long poll (its MaxWait), so the grace runs out only
// when the actor is gone.
const abandonGrace = 5 * time.Minute

// inProcess is the Caller to an api actor of the same process.
type inProcess struct {
	root *actor.RootContext
	api  *actor.PID
}

// InProcess returns the Caller to the api actor api of system, in the same
// process. A call ends when the response arrives or ctx ends. Its Close does
// nothing.
func InProcess(system *actor.ActorSystem, api *actor.PID) Caller {
	return &inProcess{root: system.Root, api: api}
}

// Call sends req to the api actor and waits for its response or ctx. The
// future has no timer: a response reaching a future already completed races
// with its reader.
func (p *inProcess) Call(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reply, err := await.Result(ctx, p.root, p.root.RequestFuture(p.api, req, -1), abandonGrace)
	if err == ctx.Err() && err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the api actor: %v", errdefs.ErrUnavailable, err)
	}
	resp, ok := reply.(*messages.Response)
	if !ok {
		return nil, fmt.Errorf("%w: the api actor answered %T", errdefs.ErrUnavailable, reply)
	}
	return resp, nil
}

// Close does nothing: the actor system is the caller's.
func (p *inProcess) Close() error { return nil }
