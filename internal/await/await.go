// Package await waits for a protoactor future's result or for the caller's
// context, without ever completing the future twice.
//
// A protoactor future must be completed exactly once: a reply that reaches
// a future already completed (stopped or timed out) races with its reader.
// So the futures waited on here have no timer (RequestFuture with -1), and
// one whose caller gave up is stopped only as a last resort, after Grace.
package await

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Grace is how long a future whose caller gave up should still wait for
// its reply before it is stopped, when the actor answers abandoned requests
// at once: the grace then runs out only when the actor is gone. A request
// the actor may hold (a long poll) needs a grace longer than the hold.
const Grace = 10 * time.Second

// Result waits for future's result, or for ctx to end. When ctx ends first
// it returns ctx.Err() itself (compare with ==), and the future is left to
// take its reply, or is stopped after grace.
func Result(ctx context.Context, root *actor.RootContext, future *actor.Future, grace time.Duration) (any, error) {
	var (
		reply any
		err   error
		done  = make(chan struct{})
	)
	go func() {
		reply, err = future.Result()
		close(done)
	}()
	select {
	case <-done:
		return reply, err
	case <-ctx.Done():
	}
	go func() {
		select {
		case <-done:
		case <-time.After(grace):
			root.Stop(future.PID())
		}
	}()
	return nil, ctx.Err()
}
