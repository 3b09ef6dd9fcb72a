package events

import "github.com/asynkron/protoactor-go/actor"

// handleChanged records a change and wakes the held Gets.
func (s *stream) handleChanged(ctx actor.Context, msg *Changed) {
	if msg.ID == "" {
		return
	}
	s.log.record(msg.ID, false)
	s.wake(ctx)
}

// handleRemoved records a removal and wakes the held Gets.
func (s *stream) handleRemoved(ctx actor.Context, msg *Removed) {
	if msg.ID == "" {
		return
	}
	s.log.record(msg.ID, true)
	s.wake(ctx)
}

// handleInjectBarrier puts the next barrier into the stream.
func (s *stream) handleInjectBarrier(ctx actor.Context) {
	s.barriers++
	seq := s.log.record(BarrierID(s.barriers), false)
	s.wake(ctx)
	if ctx.Sender() != nil {
		ctx.Respond(&BarrierReply{ID: s.barriers, Seq: seq})
	}
}

// wake answers every held Get that now has something to return.
func (s *stream) wake(ctx actor.Context) {
	for key, p := range s.polls {
		if s.log.pending(p.from) {
			s.answer(ctx, key)
		}
	}
}
