package xenstored

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

func TestServer_Metrics(t *testing.T) {
	conns0 := testutil.ToFloat64(connections)
	writes0 := testutil.ToFloat64(opCounters[xenstore.OpWrite])
	fired0 := testutil.ToFloat64(watchEventsFired)
	clientOK0 := telemetrytest.Value(t, "xenactor_xenstore_client_operations_total", "op", "write", "result", "ok")
	notFound0 := telemetrytest.Value(t, "xenactor_xenstore_client_operations_total", "op", "read",
		"result", "not_found")
	received0 := telemetrytest.Value(t, "xenactor_xenstore_client_watch_events_total")

	_, c, sock := testServer(t, Config{})
	require.Eventually(t, func() bool { return testutil.ToFloat64(connections) == conns0+1 }, 5*time.Second,
		time.Millisecond)
	ctx := tctx(t)
	w, err := c.Watch(ctx, "/m", "tok")
	require.NoError(t, err)
	<-w.Events() // the initial event
	require.NoError(t, c.Write(ctx, "/m/a", []byte("1")))
	<-w.Events()
	_, err = c.Read(ctx, "/m/none")
	require.ErrorIs(t, err, errdefs.ErrNotFound)

	require.Equal(t, writes0+1, testutil.ToFloat64(opCounters[xenstore.OpWrite]))
	require.Equal(t, fired0+2, testutil.ToFloat64(watchEventsFired))
	require.Equal(t, clientOK0+1,
		telemetrytest.Value(t, "xenactor_xenstore_client_operations_total", "op", "write", "result", "ok"))
	require.Equal(t, notFound0+1, telemetrytest.Value(t, "xenactor_xenstore_client_operations_total", "op",
		"read", "result", "not_found"))
	require.Equal(t, received0+2, telemetrytest.Value(t, "xenactor_xenstore_client_watch_events_total"))

	// An op xs_wire.h lacks counts as unknown, whatever its number.
	unknown := testutil.ToFloat64(opCounters[opCount])
	observeOp(xenstore.Op(9999))
	require.Equal(t, unknown+1, testutil.ToFloat64(opCounters[opCount]))

	other := dial(t, sock)
	require.Eventually(t, func() bool { return testutil.ToFloat64(connections) == conns0+2 }, 5*time.Second,
		time.Millisecond)
	require.NoError(t, other.Close())
	require.Eventually(t, func() bool { return testutil.ToFloat64(connections) == conns0+1 }, 5*time.Second,
		time.Millisecond)
}
