package guest

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// handleStarted reads the guest's reports once at start.
func (g *guest) handleStarted(ctx actor.Context) {
	g.timers = scheduler.NewTimerScheduler(ctx)
	g.pending = true
	g.kick(ctx)
}

// handleStopping cancels the rate limit's timer and the read in flight; a
// restarted actor reads again when it starts.
func (g *guest) handleStopping() {
	if g.timer != nil {
		g.timer()
		g.timer = nil
	}
	if g.cancel != nil {
		g.cancel()
		g.cancel = nil
	}
}
