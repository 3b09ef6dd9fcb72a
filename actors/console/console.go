package console

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/supervisors"
)

// Defaults for the zero fields of a Config.
const (
	DefaultPollMin   = 20 * time.Millisecond
	DefaultPollMax   = 5 * time.Second
	DefaultIOTimeout = 5 * time.Second
)

// Config is the console daemon's.
type Config struct {
	// Dial opens a dom0 xenstore connection, for the watches and the
	// console keys.
	Dial func(ctx context.Context) (*xenstore.Client, error)
	// Pages is dom0's access to the guests' memory.
	Pages cons.Pages
	// LogDir holds guest-<domid>.log; LogMaxBytes caps each
	// (cons.DefaultLogMaxBytes when 0).
	LogDir      string
	LogMaxBytes int64
	// NoPTY serves the logs only: no pty, no console/tty.
	NoPTY bool
	// A domain's ring is polled every PollMin after it moved, and the
	// interval doubles while it is idle, up to PollMax.
	PollMin, PollMax time.Duration
	// ChildSupervisor supervises the per-domain actors; nil means
	// supervisors.New(supervisors.WithFamily("console")).
	ChildSupervisor actor.SupervisorStrategy
	Logger          *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PollMin <= 0 {
		c.PollMin = DefaultPollMin
	}
	if c.PollMax < c.PollMin {
		c.PollMax = max(DefaultPollMax, c.PollMin)
	}
	if c.ChildSupervisor == nil {
		c.ChildSupervisor = supervisors.New(supervisors.WithFamily("console"))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// child is a per-domain actor as the daemon knows it.
type child struct {
	pid     *actor.PID
	ringRef uint64
	tty     string
	stop    bool // stopped by the daemon: not a domain gone
}

// daemon is the host's console actor.
type daemon struct {
	cfg Config
	log *slog.Logger

	xs     *xenstore.Client
	ctx    context.Context // cancelled when the actor stops or restarts
	cancel context.CancelFunc

	children map[uint32]*child
	// gone are domains whose actor stopped on its own (the domain died),
	// by the ring they had: not served again until introduced again or
	// given another ring.
	gone map[uint32]uint64
	// respawn are domains to serve once their old actor has terminated.
	respawn map[uint32]cons.Info
}

// Props returns the props of the console daemon's actor. Spawn one per
// host.
func Props(cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &daemon{cfg: cfg, log: cfg.Logger.With("daemon", "console")}
	}, actor.WithSupervisor(cfg.ChildSupervisor))
}

// Receive dispatches on the message type.
func (d *daemon) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		d.handleStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		d.handleStopping()
	case *actor.Terminated:
		d.handleTerminated(ctx, msg)
	case *domainEvent:
		d.handleDomainEvent(ctx, msg)
	case *connLost:
		d.handleConnLost(msg)
	case *GetConsoles:
		d.handleGetConsoles(ctx)
	case *ttyOpened:
		d.handleTTYOpened(msg)
	}
}
