package daemons

import "github.com/asynkron/protoactor-go/actor"

// handleGetStatus answers with the current Status.
func (d *daemon) handleGetStatus(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	s := d.status()
	ctx.Respond(&s)
}

// handleDetach makes the coming stop leave the process running.
func (d *daemon) handleDetach(ctx actor.Context) {
	d.detach = true
	if ctx.Sender() != nil {
		ctx.Respond(&Detached{})
	}
}

// handleReset starts a daemon that was given up on again.
func (d *daemon) handleReset(ctx actor.Context) {
	if d.state != StateFailed {
		return
	}
	d.failures = nil
	d.startLaunch(ctx)
}
