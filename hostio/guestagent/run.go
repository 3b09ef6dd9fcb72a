package guestagent

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultInterval is how often an agent reports when nothing prompts it,
// as xe-daemon.
const DefaultInterval = 60 * time.Second

// roundTimeout bounds one round's xenstore requests.
const roundTimeout = 30 * time.Second

// Config is what Run needs.
type Config struct {
	// Dial opens the guest's own xenstore connection (the xenbus device);
	// Run dials again at the next round when the connection is lost.
	Dial func(ctx context.Context) (*xenstore.Client, error)
	// Source is the guest's OS.
	Source Source
	// Interval is how often the agent reports; 0 means DefaultInterval.
	Interval time.Duration
	// Once: report once and return that round's error.
	Once bool
	// Log receives the agent's log lines; nil discards them. Rounds that
	// wrote something are logged at debug level, failures at warn.
	Log *slog.Logger
	// OnRound, if not nil, is called after each round (tests).
	OnRound func(Result, error)
}

// Run reports the guest's snapshot every interval and at once when the
// domain's unique-domain-id changes (a resume or migration), until ctx
// ends; then it closes its connection and returns nil. A failed round
// (xenstore unreachable, a request refused, the source failing) is logged
// and tried again at the next one, on a new connection.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &agent{cfg: cfg, rep: NewReporter("", nil)}
	defer a.disconnect()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case _, ok := <-a.uidEvents:
			if !ok {
				a.uidEvents = nil // the connection went: the round dials again
			}
		}
		res, err := a.round(ctx)
		if cfg.OnRound != nil {
			cfg.OnRound(res, err)
		}
		if err != nil && !cfg.Once && ctx.Err() == nil {
			// The next round starts from a new connection: the guest
			// may live in another domain now.
			a.disconnect()
			cfg.Log.Warn("guest agent: report failed; trying again next round", "err", err)
		}
		if len(res.Written)+len(res.Removed) > 0 {
			cfg.Log.Debug("guest agent: reported", "new_domain", res.NewDomain,
				"written", res.Written, "removed", res.Removed)
		}
		if len(res.Denied) > 0 {
			cfg.Log.Warn("guest agent: xenstore refused some keys", "keys", res.Denied)
		}
		if cfg.Once {
			return err
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(cfg.Interval)
	}
}

// agent is Run's state.
type agent struct {
	cfg Config
	rep *Reporter
	xs  *xenstore.Client
	// uidEvents are the unique-domain-id watch's events; nil (which never
	// delivers) without a connection.
	uidEvents <-chan xenstore.WatchEvent
}

// connect makes sure the agent has a live connection watching
// unique-domain-id.
func (a *agent) connect(ctx context.Context) error {
	if a.xs != nil && a.xs.Err() == nil {
		return nil
	}
	a.disconnect()
	xs, err := a.cfg.Dial(ctx)
	if err != nil {
		return fmt.Errorf("guest agent: connect to xenstore: %w", err)
	}
	w, err := xs.Watch(ctx, UniqueDomainIDKey, "unique-domain-id")
	if err != nil {
		xs.Close()
		return fmt.Errorf("guest agent: watch %s: %w", UniqueDomainIDKey, err)
	}
	// The watch's first event, which fires at once, costs one more round
	// that finds nothing changed.
	a.xs, a.uidEvents = xs, w.Events()
	return nil
}

func (a *agent) disconnect() {
	if a.xs != nil {
		_ = a.xs.Close()
		a.xs, a.uidEvents = nil, nil
	}
}

// round reports once: the snapshot, its interfaces matched to the VIFs'
// MACs.
func (a *agent) round(ctx context.Context) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	if err := a.connect(ctx); err != nil {
		return Result{}, err
	}
	s, err := a.cfg.Source.Snapshot(ctx)
	if err != nil {
		return Result{}, err
	}
	macs, err := vifMACs(ctx, a.xs)
	if err != nil {
		return Result{}, err
	}
	s.VIFs = MatchVIFs(macs, s.Interfaces)
	return a.rep.Report(ctx, a.xs, Keys(s))
}

// vifMACs reads device/vif/<n>/mac of each of the guest's VIFs.
func vifMACs(ctx context.Context, xs *xenstore.Client) (map[int]string, error) {
	ids, err := xs.Directory(ctx, "device/vif")
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("guest agent: list VIFs: %w", err)
	}
	macs := make(map[int]string, len(ids))
	for _, id := range ids {
		n, err := strconv.Atoi(id)
		if err != nil {
			continue
		}
		mac, err := xs.Read(ctx, "device/vif/"+id+"/mac")
		if errdefs.IsNotFound(err) {
			continue // going away
		}
		if err != nil {
			return nil, fmt.Errorf("guest agent: read VIF %d's MAC: %w", n, err)
		}
		macs[n] = string(mac)
	}
	return macs, nil
}
