package watches

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/supervisors"
)

// Dialer opens the dom0 connection to xenstored.
type Dialer func(ctx context.Context) (*xenstore.Client, error)

// DefaultMinInterval is how often, at most, a domain is notified.
const DefaultMinInterval = 50 * time.Millisecond

// DefaultBackoff paces the re-dials after the connection is lost.
var DefaultBackoff = supervisors.Backoff{Base: 50 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}

// DefaultBackends are the backend kinds watched for each domain, under
// /local/domain/0/backend/<kind>/<domid>.
var DefaultBackends = []string{"vbd", "qdisk", "vif"}

// closeTimeout bounds the UNWATCH of a watch being dropped.
const closeTimeout = 5 * time.Second

// Option configures the watches actor.
type Option func(*config)

type config struct {
	minInterval time.Duration
	backoff     supervisors.Backoff
	backends    []string
}

// WithMinInterval sets how often, at most, one domain is notified; zero or
// less only coalesces while a notification is being handed over.
func WithMinInterval(d time.Duration) Option {
	return func(c *config) { c.minInterval = max(d, 0) }
}

// WithBackoff sets the backoff between re-dials.
func WithBackoff(b supervisors.Backoff) Option {
	return func(c *config) { c.backoff = b }
}

// WithBackends sets the backend kinds watched per domain.
func WithBackends(kinds ...string) Option {
	return func(c *config) { c.backends = slices.Clone(kinds) }
}

// watcher is the watches actor.
type watcher struct {
	cfg    config
	dial   Dialer
	co     *coalescer
	ctx    context.Context
	cancel context.CancelFunc

	gen     uint64           // connection generation, one per dial loop
	client  *xenstore.Client // nil while disconnected
	global  []*xenstore.Watch
	domains map[uint32]*domain

	globalFailures int    // global registrations failed in a row
	seq            uint64 // last registration attempt of any domain
}

// domain is one watched domain.
type domain struct {
	id       uint32
	seq      uint64 // registration attempt; stale results are dropped
	sub      *subscription
	watches  []*xenstore.Watch
	failures int     // registrations failed in a row on this connection
	recheck  reasons // notified once registered: "watched" the first time, then "reconnected"
}

// Props returns the props of the watches actor: dial opens the dom0
// connection, notify receives the notifications. Spawn one per daemon.
func Props(dial Dialer, notify Notifier, opts ...Option) *actor.Props {
	cfg := config{minInterval: DefaultMinInterval, backoff: DefaultBackoff, backends: DefaultBackends}
	for _, opt := range opts {
		opt(&cfg)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &watcher{
			cfg:     cfg,
			dial:    dial,
			co:      newCoalescer(notify, cfg.minInterval),
			domains: make(map[uint32]*domain),
		}
	})
}

// Receive dispatches on the message type.
func (w *watcher) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		w.handleStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		w.handleStopping(ctx)
	case *connected:
		w.handleConnected(ctx, msg)
	case *disconnected:
		w.handleDisconnected(ctx, msg)
	case *globalRegistered:
		w.handleGlobalRegistered(ctx, msg)
	case *domainRegistered:
		w.handleDomainRegistered(ctx, msg)
	case *retryGlobal:
		w.handleRetryGlobal(ctx, msg)
	case *retryDomain:
		w.handleRetryDomain(ctx, msg)
	case *WatchDomain:
		w.handleWatchDomain(ctx, msg)
	case *UnwatchDomain:
		w.handleUnwatchDomain(ctx, msg)
	case *GetStatus:
		w.handleGetStatus(ctx)
	}
}

// jitter returns a random number for the backoff's jitter.
func jitter() float64 { return rand.Float64() }
