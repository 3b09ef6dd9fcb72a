package daemons

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// handleStarted adopts or starts the daemon.
func (d *daemon) handleStarted(ctx actor.Context) {
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.timers = scheduler.NewTimerScheduler(ctx)
	d.startLaunch(ctx)
}

// handleStopping stops the process gracefully, unless a Detach asked to
// leave it running. It waits for a launch in flight (its readiness probe is
// cancelled) so that a process it started is not left behind.
func (d *daemon) handleStopping() {
	d.quiesce()
	if d.proc != nil && !d.detach {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.StopTimeout)
		defer cancel()
		if err := d.proc.Stop(ctx); err != nil {
			d.lastErr = err
		}
		d.proc = nil
	}
	d.setState(StateStopped)
}

// handleRestarting leaves the process running: the next incarnation adopts
// it from its pid file.
func (d *daemon) handleRestarting() {
	d.quiesce()
}

// quiesce cancels the timers and the goroutines, and takes over the process
// of a launch in flight.
func (d *daemon) quiesce() {
	d.cancel()
	d.cancelTimers()
	if op := d.launch; op != nil {
		<-op.done
		if d.proc == nil {
			d.proc = op.proc
		}
		d.launch = nil
	}
}

// cancelTimers cancels the backoff and health timers.
func (d *daemon) cancelTimers() {
	if d.backoffEnd != nil {
		d.backoffEnd()
		d.backoffEnd = nil
	}
	if d.healthStop != nil {
		d.healthStop()
		d.healthStop = nil
	}
}
