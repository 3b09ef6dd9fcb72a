package console

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// domain is the actor of one domain's console, a child of the daemon
// named after the domid. Its ring is read in its Receive, so a panic there
// restarts this actor alone: the new incarnation opens a new pty and
// writes console/tty again, and the log goes on.
type domain struct {
	cfg  Config
	xs   cons.Store
	info cons.Info
	log  *slog.Logger

	c        *cons.Console
	timers   *scheduler.TimerScheduler
	next     scheduler.CancelFunc // the poll timer, nil if none
	interval time.Duration
	failing  bool // the last poll failed (said once)
}

// domainProps returns the props of info's domain actor.
func domainProps(cfg Config, xs cons.Store, info cons.Info) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &domain{cfg: cfg, xs: xs, info: info, log: cfg.Logger.With("daemon", "console", "domid", info.DomID)}
	})
}

// Receive dispatches on the message type.
func (d *domain) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		d.handleStarted(ctx)
	case *actor.Stopping:
		d.handleStopping(true)
	case *actor.Restarting:
		d.handleStopping(false)
	case *pollDue:
		d.handlePollDue(ctx)
	}
}

// handleStarted opens the console (log and pty), writes console/tty and
// polls the ring. A console that cannot be opened panics, for the
// supervisor to try again later.
func (d *domain) handleStarted(ctx actor.Context) {
	d.timers = scheduler.NewTimerScheduler(ctx)
	d.interval = d.cfg.PollMin
	root, self := ctx.ActorSystem().Root, ctx.Self()
	c, err := cons.Open(cons.Config{DomID: d.info.DomID, RingRef: d.info.RingRef, Pages: d.cfg.Pages,
		LogDir: d.cfg.LogDir, LogMaxBytes: d.cfg.LogMaxBytes, NoPTY: d.cfg.NoPTY, Logger: d.cfg.Logger,
		OnInput: func() { root.Send(self, &pollDue{}) }})
	if err != nil {
		panic(err)
	}
	d.c = c
	if tty := c.TTY(); tty != "" {
		wctx, cancel := context.WithTimeout(context.Background(), DefaultIOTimeout)
		defer cancel()
		if err := cons.WriteTTY(wctx, d.xs, d.info, tty); err != nil {
			d.log.Debug("console: console/tty not written", "err", err)
		}
		ctx.Send(ctx.Parent(), &ttyOpened{DomID: d.info.DomID, TTY: tty})
	}
	d.handlePollDue(ctx)
}

// handleStopping ends the timer, drains the ring one last time when the
// actor stops (the domain may have printed its last words) and closes the
// console, freeing its pty.
func (d *domain) handleStopping(final bool) {
	if d.next != nil {
		d.next()
		d.next = nil
	}
	if d.c == nil {
		return
	}
	if final {
		pctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = d.c.Poll(pctx)
		cancel()
	}
	if err := d.c.Close(); err != nil {
		d.log.Debug("console: closing failed", "err", err)
	}
	d.c = nil
}

// handlePollDue polls the ring and arms the next poll: soon after the ring
// moved, less often while it is idle. A domain that is gone (or whose ring
// page is not its memory) stops the actor.
func (d *domain) handlePollDue(ctx actor.Context) {
	if d.next != nil {
		d.next()
		d.next = nil
	}
	if d.c == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.Background(), DefaultIOTimeout)
	moved, err := d.c.Poll(pctx)
	cancel()
	switch {
	case errdefs.IsNotFound(err) || errdefs.IsInvalid(err):
		d.log.Debug("console: the domain's ring is gone; not served any more", "err", err)
		ctx.Stop(ctx.Self())
		return
	case err != nil:
		if !d.failing {
			d.log.Warn("console: polling the ring failed", "err", err)
			d.failing = true
		}
		d.interval = d.cfg.PollMax
	case moved:
		d.failing = false
		d.interval = d.cfg.PollMin
	default:
		d.failing = false
		d.interval = min(2*d.interval, d.cfg.PollMax)
	}
	d.next = d.timers.SendOnce(d.interval, ctx.Self(), &pollDue{})
}
