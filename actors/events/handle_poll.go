package events

import "github.com/asynkron/protoactor-go/actor"

// handleGet answers at once when there is something to return or the request
// does not want to wait, and holds it otherwise.
func (s *stream) handleGet(ctx actor.Context, msg *Get) {
	waiter := ctx.Sender()
	if waiter == nil {
		return
	}
	if s.log.pending(msg.From) || msg.Timeout <= 0 {
		ctx.Respond(s.log.since(msg.From))
		return
	}
	timeout := min(msg.Timeout, MaxPollTimeout)
	key := waiter.GetId()
	if old, ok := s.polls[key]; ok {
		old.cancel()
	}
	s.polls[key] = &poll{
		waiter: waiter,
		from:   msg.From,
		cancel: s.timers.SendOnce(timeout, ctx.Self(), &pollExpired{key: key}),
	}
}

// handlePollExpired answers a held Get whose timeout passed with nothing new.
func (s *stream) handlePollExpired(ctx actor.Context, msg *pollExpired) {
	s.answer(ctx, msg.key) // a no-op when a change answered it meanwhile
}

// handleForgetPoll answers at once a held Get whose client gave up, so its
// future completes and goes.
func (s *stream) handleForgetPoll(ctx actor.Context, msg *forgetPoll) {
	s.answer(ctx, msg.key)
}

// handleStopping answers every held Get, so no client waits on a stream that
// is gone; their next Get finds the actor stopped.
func (s *stream) handleStopping(ctx actor.Context) {
	for key := range s.polls {
		s.answer(ctx, key)
	}
}

// answer replies to the held Get key with what it can have now and lets it go.
func (s *stream) answer(ctx actor.Context, key string) {
	p, ok := s.polls[key]
	if !ok {
		return
	}
	p.cancel()
	delete(s.polls, key)
	ctx.Send(p.waiter, s.log.since(p.from))
}
