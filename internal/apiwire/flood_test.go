package apiwire

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConn_FloodBackpressure(t *testing.T) {
	const (
		maxInFlight = 16
		flood       = 2000
	)
	d := startDaemon(t, daemonOpts{maxInFlight: maxInFlight})
	cfg := d.config(t)
	flooder := dialled(t, cfg)
	other := dialled(t, cfg)

	require.Equal(t, "OK", flooder.do(t, fmt.Sprintf("flood %d", flood)))
	// The daemon holds the flooder's requests; it stops reading the
	// flooder's stream once maxInFlight are in flight.
	require.Eventually(t, func() bool {
		return other.info(t) >= maxInFlight
	}, 30*time.Second, 10*time.Millisecond)
	// Meanwhile the other client is served, and the flooder is held back
	// (within one batch of the limit).
	for range 50 {
		require.LessOrEqual(t, other.info(t), uint32(maxInFlight+clientBatchSize))
	}

	// Release: every flooded request is answered.
	require.Equal(t, "OK", other.do(t, "release"))
	require.Equal(t, fmt.Sprintf("OK %d 0", flood), flooder.do(t, "wait"))
	d.alive(t)
}
