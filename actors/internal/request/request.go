// Package request sends a request to an actor and waits for its reply or
// for the caller's context, without ever completing a protoactor future
// twice (a reply reaching a future already completed races with its reader).
package request

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/await"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

// Do sends msg to pid and waits for the reply or for ctx to end. When ctx
// ends first, abandon (if not nil) is called with the id of the PID the reply
// would have gone to, so the actor can answer a request it holds at once.
// A span in ctx travels to the actor in the message header.
func Do(ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any, abandon func(waiter string)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	future := send(ctx, root, pid, msg)
	reply, err := await.Result(ctx, root, future, await.Grace)
	switch {
	case err == nil:
		return reply, nil
	case err == ctx.Err():
		if abandon != nil {
			abandon(future.PID().GetId())
		}
		return nil, err
	}
	return nil, fmt.Errorf("%w: actor %s: %v", errdefs.ErrUnavailable, pid.GetId(), err)
}

// send sends msg to pid with a new future as its sender. When ctx carries
// a span, the envelope's header carries its context to the actor (see
// tracing.Extract).
func send(ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any) *actor.Future {
	header := tracing.Inject(ctx)
	if header == nil {
		return root.RequestFuture(pid, msg, -1)
	}
	future := actor.NewFuture(root.ActorSystem(), -1)
	root.Send(pid, &actor.MessageEnvelope{Header: header, Message: msg, Sender: future.PID()})
	return future
}

// Ask is Do for a reply of type R (a pointer to the reply message): a reply
// of any other type is an error naming it and the request.
func Ask[R any](ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any, abandon func(waiter string)) (R, error) {
	var zero R
	res, err := Do(ctx, root, pid, msg, abandon)
	if err != nil {
		return zero, err
	}
	reply, ok := res.(R)
	if !ok {
		return zero, fmt.Errorf("actor %s: unexpected reply %T to %T", pid.GetId(), res, msg)
	}
	return reply, nil
}
