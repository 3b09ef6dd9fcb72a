package daemons

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// scheduleHealth arms the next health probe, if the daemon has one.
func (d *daemon) scheduleHealth(ctx actor.Context) {
	if d.cfg.Health == nil {
		return
	}
	d.healthSeq++
	d.healthStop = d.timers.SendOnce(d.cfg.HealthInterval, ctx.Self(), &healthDue{seq: d.healthSeq})
}

// handleHealthDue probes the running daemon in a goroutine.
func (d *daemon) handleHealthDue(ctx actor.Context, msg *healthDue) {
	if msg.seq != d.healthSeq || d.state != StateRunning || d.proc == nil || d.probing {
		return
	}
	d.healthStop = nil
	d.probing = true
	root, self, p, runCtx := ctx.ActorSystem().Root, ctx.Self(), d.proc, d.ctx
	go func() {
		c, cancel := context.WithTimeout(runCtx, d.cfg.HealthTimeout)
		defer cancel()
		err := d.cfg.Health(c)
		root.Send(self, &healthDone{proc: p, err: err})
	}()
}

// handleHealthDone restarts a daemon that failed its probe, or arms the
// next probe.
func (d *daemon) handleHealthDone(ctx actor.Context, msg *healthDone) {
	if msg.proc != d.proc || d.state != StateRunning {
		return
	}
	d.probing = false
	if msg.err != nil {
		healthFailures.WithLabelValues(d.cfg.Spec.Name).Inc()
		d.kill(fmt.Errorf("daemon %s: health: %w", d.cfg.Spec.Name, msg.err))
		return
	}
	d.scheduleHealth(ctx)
}
