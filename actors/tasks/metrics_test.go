package tasks

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestRegistry_Metrics_CreatedFinishedPending(t *testing.T) {
	const kind = "metrics.test"
	created, pending := createdTotal.WithLabelValues(kind), pendingTasks.WithLabelValues(kind)
	ok, busy := finishedTotal.WithLabelValues(kind, "ok"), finishedTotal.WithLabelValues(kind, "busy")
	system, c := newRegistry(t)
	ctx := testContext(t)

	a, err := c.Create(ctx, CreateTask{Kind: kind})
	require.NoError(t, err)
	b, err := c.Create(ctx, CreateTask{Kind: kind})
	require.NoError(t, err)
	require.Equal(t, 2.0, testutil.ToFloat64(created))
	require.Equal(t, 2.0, testutil.ToFloat64(pending))

	require.NoError(t, c.Complete(ctx, a, nil))
	require.Equal(t, 1.0, testutil.ToFloat64(ok))
	require.Equal(t, 1.0, testutil.ToFloat64(pending))

	require.NoError(t, c.Fail(ctx, b, errdefs.ErrBusy))
	require.Equal(t, 1.0, testutil.ToFloat64(busy))
	require.Equal(t, 0.0, testutil.ToFloat64(pending))

	// A registry that stops takes its pending tasks out of the gauge.
	_, err = c.Create(ctx, CreateTask{Kind: kind})
	require.NoError(t, err)
	require.Equal(t, 1.0, testutil.ToFloat64(pending))
	require.NoError(t, system.Root.StopFuture(c.PID()).Wait())
	require.Equal(t, 0.0, testutil.ToFloat64(pending))
}
