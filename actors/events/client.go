package events

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
)

// DefaultPollTimeout is how long Client.Next waits for a change unless the
// client was built WithPollTimeout.
const DefaultPollTimeout = 30 * time.Second

// Client is the Go API of the update-stream actor.
type Client struct {
	root        *actor.RootContext
	pid         *actor.PID
	pollTimeout time.Duration
}

// NewClient returns a client of the stream actor pid in system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) Client {
	return Client{root: system.Root, pid: pid, pollTimeout: DefaultPollTimeout}
}

// WithPollTimeout returns a copy of c whose Next waits at most d for a change.
func (c Client) WithPollTimeout(d time.Duration) Client {
	c.pollTimeout = d
	return c
}

// PID returns the stream actor's PID.
func (c Client) PID() *actor.PID { return c.pid }

// Changed announces that the object id changed.
func (c Client) Changed(id string) { c.root.Send(c.pid, &Changed{ID: id}) }

// Removed announces that the object id is gone.
func (c Client) Removed(id string) { c.root.Send(c.pid, &Removed{ID: id}) }

// Next returns the ids changed after from, waiting up to the client's poll
// timeout for one; a reply that is Empty means the poll timed out. If ctx ends
// first, Next returns ctx's error and the stream lets the poll go.
func (c Client) Next(ctx context.Context, from uint64) (*GetReply, error) {
	forget := func(key string) { c.root.Send(c.pid, &forgetPoll{key: key}) }
	return request.Ask[*GetReply](ctx, c.root, c.pid, &Get{From: from, Timeout: c.pollTimeout}, forget)
}

// Barrier injects a barrier into the stream; follow the stream until
// BarrierReply.Reached to have seen every change made before it.
func (c Client) Barrier(ctx context.Context) (*BarrierReply, error) {
	return request.Ask[*BarrierReply](ctx, c.root, c.pid, &InjectBarrier{}, nil)
}

// Subscribe follows the stream from the sequence from on a goroutine and
// delivers every non-empty batch on the returned channel, which is closed when
// ctx ends or the stream cannot be reached. Batches are fetched only once the
// previous one was taken, so a slow follower gets fewer, larger batches.
func (c Client) Subscribe(ctx context.Context, from uint64) <-chan *GetReply {
	batches := make(chan *GetReply)
	go func() {
		defer close(batches)
		for {
			reply, err := c.Next(ctx, from)
			if err != nil {
				return
			}
			from = reply.Next
			if reply.Empty() {
				continue
			}
			select {
			case batches <- reply:
			case <-ctx.Done():
				return
			}
		}
	}()
	return batches
}
