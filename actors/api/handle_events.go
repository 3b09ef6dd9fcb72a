package api

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// events returns a client of the host's update stream.
func (s *server) events(ctx context.Context) (events.Client, error) {
	pid, err := s.cfg.Host.Events(ctx)
	if err != nil {
		return events.Client{}, err
	}
	return events.NewClient(s.system(), pid), nil
}

// nextEvents answers NextEvents once something changed after from, or with
// an empty batch once its wait (capped by MaxWait) is over.
func (s *server) nextEvents(ctx context.Context, req *messages.NextEventsRequest) (*messages.Response, error) {
	if req.GetTimeoutMillis() < 0 {
		return nil, fmt.Errorf("%w: negative timeout", errdefs.ErrInvalid)
	}
	wait := s.waitFor(req.GetTimeoutMillis())
	ctx, cancel := context.WithTimeout(ctx, wait+s.cfg.Timeout)
	defer cancel()
	ec, err := s.events(ctx)
	if err != nil {
		return nil, err
	}
	reply, err := ec.WithPollTimeout(wait).Next(ctx, req.GetFrom())
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_Events{Events: &messages.EventBatch{Ids: reply.IDs,
		Removed: reply.Removed, Next: reply.Next, Resync: reply.Resync}}}, nil
}

// barrier answers Barrier.
func (s *server) barrier(ctx context.Context) (*messages.Response, error) {
	ec, err := s.events(ctx)
	if err != nil {
		return nil, err
	}
	b, err := ec.Barrier(ctx)
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_Barrier{Barrier: &messages.Barrier{Id: int32(b.ID),
		Seq: b.Seq}}}, nil
}
