package guest

import "github.com/asynkron/protoactor-go/actor"

// handleGetMetrics answers with a copy of the latest metrics and the stats.
func (g *guest) handleGetMetrics(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	ctx.Respond(&GetMetricsReply{Metrics: g.metrics.Clone(), Stats: g.stats})
}
