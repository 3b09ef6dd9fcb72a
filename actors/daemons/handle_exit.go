package daemons

import (
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// handleExited counts the exit of the current process as a failure, with
// the reason it was killed for if the actor killed it.
func (d *daemon) handleExited(ctx actor.Context, msg *exited) {
	if msg.proc != d.proc {
		return
	}
	d.proc, d.adopted = nil, false
	d.probing = false
	if d.healthStop != nil {
		d.healthStop()
		d.healthStop = nil
	}
	reason := d.killReason
	d.killReason = nil
	if reason == nil {
		reason = exitReason(msg.proc)
	}
	d.failed(ctx, reason)
}

// failed records a failure: the daemon is restarted after the backoff, or
// given up on after more than MaxRestarts failures within Window.
func (d *daemon) failed(ctx actor.Context, err error) {
	d.lastErr = err
	now := time.Now()
	kept := d.failures[:0]
	for _, t := range d.failures {
		if now.Sub(t) < d.cfg.Window {
			kept = append(kept, t)
		}
	}
	d.failures = append(kept, now)
	if len(d.failures) > d.cfg.MaxRestarts {
		d.setState(StateFailed)
		return
	}
	d.backoffSeq++
	delay := d.cfg.Backoff.Delay(len(d.failures), rand.Float64)
	d.backoffEnd = d.timers.SendOnce(delay, ctx.Self(), &restartDue{seq: d.backoffSeq})
	d.setState(StateBackoff)
}

// handleRestartDue restarts the daemon when its backoff ends.
func (d *daemon) handleRestartDue(ctx actor.Context, msg *restartDue) {
	if msg.seq != d.backoffSeq || d.state != StateBackoff {
		return
	}
	d.backoffEnd = nil
	d.restarts++
	restartsTotal.WithLabelValues(d.cfg.Spec.Name).Inc()
	d.startLaunch(ctx)
}
