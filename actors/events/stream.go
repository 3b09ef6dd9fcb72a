package events

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// MaxPollTimeout bounds how long one Get is held, whatever it asks for.
const MaxPollTimeout = 5 * time.Minute

// Option configures the stream actor.
type Option func(*config)

type config struct {
	maxTracked int
}

// WithMaxTracked bounds the number of ids the stream remembers (at least 1).
// Past it the oldest ids are dropped and clients behind them must resync.
func WithMaxTracked(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxTracked = n
		}
	}
}

// stream is the update-stream actor: the change log and the Gets it holds.
type stream struct {
	log      *changeLog
	polls    map[string]*poll // held Gets by the waiter's PID id
	barriers int              // the last barrier number handed out
	timers   *scheduler.TimerScheduler
}

// poll is a Get held until something changes or its timeout passes.
type poll struct {
	waiter *actor.PID
	from   uint64
	cancel scheduler.CancelFunc
}

// Props returns the props of the update-stream actor. Spawn one per daemon.
func Props(opts ...Option) *actor.Props {
	cfg := config{maxTracked: DefaultMaxTracked}
	for _, opt := range opts {
		opt(&cfg)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &stream{
			log:   newChangeLog(cfg.maxTracked),
			polls: make(map[string]*poll),
		}
	})
}

// Receive dispatches on the message type.
func (s *stream) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
	case *actor.Stopping:
		s.handleStopping(ctx)
	case *Changed:
		s.handleChanged(ctx, msg)
	case *Removed:
		s.handleRemoved(ctx, msg)
	case *InjectBarrier:
		s.handleInjectBarrier(ctx)
	case *Get:
		s.handleGet(ctx, msg)
	case *pollExpired:
		s.handlePollExpired(ctx, msg)
	case *forgetPoll:
		s.handleForgetPoll(ctx, msg)
	}
}
