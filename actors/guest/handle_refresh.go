package guest

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// handleRefresh notes that the guest wrote something and reads if it may.
func (g *guest) handleRefresh(ctx actor.Context) {
	g.pending = true
	g.kick(ctx)
}

// handleReadDue is the rate limit's timer: the trailing read may start.
func (g *guest) handleReadDue(ctx actor.Context) {
	g.timer = nil
	g.kick(ctx)
}

// handleReadDone keeps the metrics of a finished read, announces them if
// they changed, and starts the read a refresh asked for meanwhile. A read
// that panicked (a bug met on a guest's input, or in the store) panics
// the actor, so that its supervisor restarts this guest actor only.
func (g *guest) handleReadDone(ctx actor.Context, msg *readDone) {
	g.reading = false
	g.cancel = nil
	observeRead(msg)
	if msg.panicked != nil {
		panic(msg.panicked)
	}
	g.stats.LastErr = msg.err
	if msg.err == nil {
		m := msg.metrics
		if !g.have || !m.Equal(g.metrics) {
			g.have = true
			m.LastChange = m.Updated
			g.stats.Changes++
			changesTotal.Inc()
			if g.cfg.Notifier != nil {
				g.cfg.Notifier.Changed(ObjectID(g.cfg.VMUUID))
			}
			if g.cfg.Owner != nil {
				ctx.Send(g.cfg.Owner, &MetricsChanged{VMUUID: g.cfg.VMUUID, DomID: g.cfg.DomID, Metrics: m.Clone()})
			}
		} else {
			m.LastChange = g.metrics.LastChange
		}
		g.metrics = m
	}
	g.kick(ctx)
}

// kick starts a read if one is wanted, none is in flight, and the rate limit
// allows it; if only the rate limit stands in the way it arms a timer for
// the trailing read.
func (g *guest) kick(ctx actor.Context) {
	if !g.pending || g.reading || g.timer != nil {
		return
	}
	if wait := time.Until(g.lastStart.Add(g.opts.minInterval)); !g.lastStart.IsZero() && wait > 0 {
		g.timer = g.timers.SendOnce(wait, ctx.Self(), &readDue{})
		return
	}
	g.pending = false
	g.reading = true
	g.lastStart = time.Now()
	g.stats.Reads++
	readCtx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	root, self := ctx.ActorSystem().Root, ctx.Self()
	xs, domid, quota := g.cfg.XS, g.cfg.DomID, g.opts.quota
	go func() {
		done := &readDone{}
		defer func() {
			cancel()
			if r := recover(); r != nil {
				done = &readDone{panicked: r}
			}
			root.Send(self, done)
		}()
		done.metrics, done.err = Read(readCtx, xs, domid, quota)
	}()
}
