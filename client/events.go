package client

import (
	"context"
	"time"

	"github.com/xenactor/xenactor/messages"
)

// DefaultEventsPoll is how long each NextEvents of Events asks the daemon to
// wait; the daemon caps it with its own maximum.
const DefaultEventsPoll = 30 * time.Second

// NextEvents returns the ids changed after the sequence from, waiting up to
// timeout (capped by the daemon; 0 takes the daemon's maximum) for one; an
// empty batch means the wait ended with no change.
func (c *Client) NextEvents(ctx context.Context, from uint64, timeout time.Duration) (*messages.EventBatch, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_NextEvents{NextEvents: &messages.NextEventsRequest{
		From: from, TimeoutMillis: timeout.Milliseconds()}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetEvents(); r != nil {
		return r, nil
	}
	return nil, unexpected("EventBatch", resp)
}

// Events follows the update stream from the sequence from on a goroutine and
// delivers every batch that is not empty, resync batches as they are, on the
// returned channel. The channel is closed when ctx ends or a call fails (the
// daemon is gone). A batch is fetched only once the previous one was taken.
func (c *Client) Events(ctx context.Context, from uint64) <-chan *messages.EventBatch {
	batches := make(chan *messages.EventBatch)
	go func() {
		defer close(batches)
		for {
			b, err := c.NextEvents(ctx, from, DefaultEventsPoll)
			if err != nil {
				return
			}
			from = b.Next
			if len(b.Ids) == 0 && len(b.Removed) == 0 && !b.Resync {
				continue
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	return batches
}

// Barrier injects a barrier into the stream: a follower whose next position
// reaches its Seq has seen every change made before it.
func (c *Client) Barrier(ctx context.Context) (*messages.Barrier, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_Barrier{Barrier: &messages.BarrierRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetBarrier(); r != nil {
		return r, nil
	}
	return nil, unexpected("Barrier", resp)
}
