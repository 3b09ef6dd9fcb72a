// Package request sends a request to an actor and waits for its reply or
// for the caller's context, without ever completing a protoactor future
// twice (a reply reaching a future already completed races with its reader).
package request

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/await"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

// Do sends msg to pid and waits for the reply or for ctx to end. When ctx
// ends first, abandon (if not nil) is called with the id of the PID the reply
// would have gone to, so the actor can answer a request it holds at once.
// A span in ctx travels to the actor in the message header.
//
// A local actor that stops before it answers (a message still in its
// mailbox is then dropped, with no dead letter) fails the request with
// errdefs.ErrUnavailable within about TargetCheck, rather than leaving the
// caller to wait for its context.
func Do(ctx context.Context, root *actor.RootContext, pid *actor.PID, msg any, abandon func(waiter string)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wctx, gone := context.WithCancel(ctx)
	defer gone()
	stop := watch(root.ActorSystem(), pid, gone)
	defer stop()
	future := send(ctx, root, pid, msg)
	reply, err := await.Result(wctx, root, future, await.Grace)
	switch {
	case err == nil:
		return reply, nil
	case err == wctx.Err() && ctx.Err() != nil:
		if abandon != nil {
			abandon(future.PID().GetId())
		}
		return nil, ctx.Err()
	case err == wctx.Err():
		return nil, fmt.Errorf("%w: actor %s stopped before it answered", errdefs.ErrUnavailable, pid.GetId())
	}
	return nil, fmt.Errorf("%w: actor %s: %v", errdefs.ErrUnavailable, pid.GetId(), err)
}

// TargetCheck is how often Do checks that the local actor it waits on
// still runs.
const TargetCheck = time.Second

// watch calls gone once pid, a local actor, no longer runs: its process
// left the registry, or another took its name. It returns the function
// that ends the watch. A remote pid is not watched.
func watch(system *actor.ActorSystem, pid *actor.PID, gone func()) (stop func()) {
	if pid == nil || (pid.GetAddress() != system.Address() && pid.GetAddress() != "nonhost") {
		return func() {}
	}
	was, ok := system.ProcessRegistry.Get(pid)
	if !ok {
		return func() {} // a dead letter answers
	}
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	check := func() {
		if p, ok := system.ProcessRegistry.Get(pid); !ok || p != was {
			gone()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(TargetCheck)
		}
	}
	mu.Lock()
	t = time.AfterFunc(TargetCheck, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
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
