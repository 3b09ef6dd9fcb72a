package daemons

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/supervisors"
)

// Defaults for the zero fields of a Config.
const (
	DefaultReadyTimeout   = 30 * time.Second
	DefaultReadyInterval  = 50 * time.Millisecond
	DefaultHealthInterval = 10 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultMaxRestarts    = 5
	DefaultWindow         = time.Minute
	DefaultStopTimeout    = 30 * time.Second
)

// Config is one daemon and how to supervise it.
type Config struct {
	Manager *process.Manager // owns the pid file and the log
	Spec    process.Spec

	// Ready, if not nil, tells whether a started or adopted process serves
	// (its socket answers, ...). It is called every ReadyInterval until it
	// returns nil, for up to ReadyTimeout; the process is restarted if it
	// never does.
	Ready         func(ctx context.Context) error
	ReadyTimeout  time.Duration
	ReadyInterval time.Duration

	// Health, if not nil, is called every HealthInterval while the daemon
	// runs, with HealthTimeout; an error restarts the daemon.
	Health         func(ctx context.Context) error
	HealthInterval time.Duration
	HealthTimeout  time.Duration

	// Backoff is the delay before each restart; the zero value is
	// supervisors.DefaultBackoff.
	Backoff supervisors.Backoff
	// MaxRestarts failures within Window are restarted; one more makes the
	// actor give up (StateFailed).
	MaxRestarts int
	Window      time.Duration

	// StopTimeout bounds the graceful stop when the actor stops.
	StopTimeout time.Duration

	// Notify, if not nil, is called from the actor with each new Status. It
	// must not block.
	Notify func(Status)
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.ReadyInterval <= 0 {
		c.ReadyInterval = DefaultReadyInterval
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = DefaultHealthTimeout
	}
	if c.Backoff == (supervisors.Backoff{}) {
		c.Backoff = supervisors.DefaultBackoff
	}
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	return c
}

// daemon is the actor of one daemon.
type daemon struct {
	cfg Config

	timers *scheduler.TimerScheduler
	ctx    context.Context // cancelled when the actor stops
	cancel context.CancelFunc

	state    State
	proc     *process.Proc // the current process, nil if none
	adopted  bool
	launch   *launchOp // the launch in flight, nil if none
	restarts int
	failures []time.Time // within Window
	lastErr  error
	detach   bool

	killReason error // why the current process is being stopped
	backoffSeq int   // numbers the backoff timers; a stale one is ignored
	healthSeq  int
	probing    bool // a health probe is in flight
	healthStop scheduler.CancelFunc
	backoffEnd scheduler.CancelFunc
}

// Props returns the props of the actor of cfg.Spec.Name's daemon.
func Props(cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &daemon{cfg: cfg}
	})
}

// Receive dispatches on the message type.
func (d *daemon) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		d.handleStarted(ctx)
	case *actor.Stopping:
		d.handleStopping()
	case *actor.Restarting:
		d.handleRestarting()
	case *launched:
		d.handleLaunched(ctx, msg)
	case *exited:
		d.handleExited(ctx, msg)
	case *restartDue:
		d.handleRestartDue(ctx, msg)
	case *healthDue:
		d.handleHealthDue(ctx, msg)
	case *healthDone:
		d.handleHealthDone(ctx, msg)
	case *GetStatus:
		d.handleGetStatus(ctx)
	case *Detach:
		d.handleDetach(ctx)
	case *Reset:
		d.handleReset(ctx)
	}
}

// status returns the current Status.
func (d *daemon) status() Status {
	s := Status{Name: d.cfg.Spec.Name, State: d.state, Restarts: d.restarts, LastErr: d.lastErr}
	if d.proc != nil {
		s.Pid = d.proc.Pid()
		s.Adopted = d.adopted
	}
	return s
}

// setState moves to state and tells Notify.
func (d *daemon) setState(state State) {
	d.state = state
	d.observeState(state)
	if d.cfg.Notify != nil {
		d.cfg.Notify(d.status())
	}
}
