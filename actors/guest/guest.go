package guest

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// DefaultMinInterval is the least time between the starts of two reads of
// one guest unless WithMinInterval says otherwise.
const DefaultMinInterval = time.Second

// ObjectID returns the update-stream id of VM uuid, "vm/<uuid>".
func ObjectID(uuid string) string { return "vm/" + uuid }

// Notifier is told when a VM's guest metrics changed; an events.Client is
// one.
type Notifier interface {
	Changed(id string)
}

// NotifierFunc is a Notifier made of a function.
type NotifierFunc func(id string)

// Changed calls f(id).
func (f NotifierFunc) Changed(id string) { f(id) }

// Config is what a guest actor reads and whom it tells.
type Config struct {
	XS       Store    // dom0's xenstore
	DomID    uint32   // the guest's domain
	VMUUID   string   // announced as "vm/<uuid>"
	Notifier Notifier // may be nil
	// Owner, when not nil, is sent a MetricsChanged with a copy of the
	// metrics whenever they change; the VM actor is the owner of its guest
	// child.
	Owner *actor.PID
}

// Option configures a guest actor.
type Option func(*options)

type options struct {
	quota       Quota
	minInterval time.Duration
}

// WithQuota bounds each read; see Quota.
func WithQuota(q Quota) Option { return func(o *options) { o.quota = q } }

// WithMinInterval sets the least time between the starts of two reads; zero
// or less reads as soon as the previous read finished.
func WithMinInterval(d time.Duration) Option { return func(o *options) { o.minInterval = d } }

// guest is the guest actor of one VM.
type guest struct {
	cfg  Config
	opts options

	timers    *scheduler.TimerScheduler
	metrics   GuestMetrics
	have      bool // metrics holds a read
	stats     Stats
	reading   bool               // a read is in flight
	cancel    context.CancelFunc // cancels the read in flight
	pending   bool               // a refresh arrived that no read has served
	timer     scheduler.CancelFunc
	lastStart time.Time // when the last read started
}

// Props returns the props of the guest actor of cfg.VMUUID. It reads once
// when it starts.
func Props(cfg Config, opts ...Option) *actor.Props {
	o := options{minInterval: DefaultMinInterval}
	for _, opt := range opts {
		opt(&o)
	}
	o.quota = o.quota.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &guest{cfg: cfg, opts: o}
	})
}

// Receive dispatches on the message type.
func (g *guest) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		g.handleStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		g.handleStopping()
	case *Refresh:
		g.handleRefresh(ctx)
	case *readDue:
		g.handleReadDue(ctx)
	case *readDone:
		g.handleReadDone(ctx, msg)
	case *GetMetrics:
		g.handleGetMetrics(ctx)
	}
}
