package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/internal/await"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// forwardTimeout bounds a request a member runs for another: the API's own
// deadlines (its request timeout, the long polls' caps) end it sooner.
const forwardTimeout = 10 * time.Minute

// forwarder is the actor "xenactor-host" of a member: it runs a Request from
// another member on the local api actor, on a goroutine, and sends the
// Response back, with Response.host set to this host.
type forwarder struct {
	pool *Pool
}

// Receive handles the forwarder's messages.
func (f *forwarder) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*messages.Request)
	if !ok {
		return
	}
	sender := ctx.Sender()
	if sender == nil {
		return
	}
	root := ctx.ActorSystem().Root
	p := f.pool
	// The request runs here: it must not be routed again.
	req = proto.Clone(req).(*messages.Request)
	req.Host, req.LeastLoaded = "", false
	go func() {
		rctx, cancel := context.WithTimeout(p.stop, forwardTimeout)
		defer cancel()
		resp, err := p.cfg.Local(rctx, req)
		if err != nil {
			resp = errorResponse(err)
		}
		resp.Host = p.cfg.Host
		root.Send(sender, resp)
	}()
}

// errMemberLeft is the cause of a routed request's end when its member left.
var errMemberLeft = errors.New("the member left the pool")

// watchMember cancels ctx with errMemberLeft when the member id of host
// leaves the member list, until ctx ends.
func (p *Pool) watchMember(ctx context.Context, cancel context.CancelCauseFunc, host, id string) {
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m, ok := p.provider.member(host); !ok || m.ID != id {
			cancel(errMemberLeft)
			return
		}
	}
}

// errorResponse is the Response of a failed call.
func errorResponse(err error) *messages.Response {
	return &messages.Response{Error: &messages.Error{Kind: errdefs.Kind(err), Message: err.Error()}}
}

// Route runs req on the member named host and returns its Response, with
// Response.host set. This host's name runs it on the local api actor. A host
// that is not a live member is errdefs.ErrNotFound (unknown) or
// ErrUnavailable (down); a member that does not answer before ctx ends is
// ctx's error.
func (p *Pool) Route(ctx context.Context, host string, req *messages.Request) (*messages.Response, error) {
	req = proto.Clone(req).(*messages.Request)
	req.Host, req.LeastLoaded = "", false
	if host == p.cfg.Host {
		resp, err := p.cfg.Local(ctx, req)
		if err != nil {
			return nil, err
		}
		resp.Host = host
		return resp, nil
	}
	m, ok := p.provider.member(host)
	if !ok {
		if known, _ := p.knownHost(ctx, host); known {
			return nil, fmt.Errorf("%w: pool host %s is down", errdefs.ErrUnavailable, host)
		}
		return nil, fmt.Errorf("%w: no pool host %s", errdefs.ErrNotFound, host)
	}
	target := actor.NewPID(m.address(), ForwarderName)
	// A member that dies while it runs the request never answers: the wait
	// ends when it leaves the member list.
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go p.watchMember(rctx, cancel, host, m.ID)
	future := p.system.Root.RequestFuture(target, req, -1)
	// The member answers within its own bound (forwardTimeout): a future
	// whose caller gave up is released after it.
	reply, err := await.Result(rctx, p.system.Root, future, forwardTimeout)
	if err != nil && err == rctx.Err() {
		if cause := context.Cause(rctx); errors.Is(cause, errMemberLeft) {
			return nil, fmt.Errorf("%w: pool host %s went down before it answered", errdefs.ErrUnavailable, host)
		}
		return nil, fmt.Errorf("pool host %s: %w", host, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: pool host %s: %v", errdefs.ErrUnavailable, host, err)
	}
	switch r := reply.(type) {
	case *messages.Response:
		return r, nil
	case *actor.DeadLetterResponse:
		return nil, fmt.Errorf("%w: pool host %s did not take the request", errdefs.ErrUnavailable, host)
	default:
		return nil, fmt.Errorf("%w: pool host %s answered %T", errdefs.ErrUnavailable, host, reply)
	}
}
