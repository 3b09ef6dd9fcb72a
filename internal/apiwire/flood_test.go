package apiwire

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/messages"
)

func TestConn_FloodBackpressure(t *testing.T) {
	const (
		maxInFlight = 16
		flood       = 2000
	)
	d := startDaemon(t, daemonOpts{maxInFlight: maxInFlight})
	cfg := d.config(t)
	flooder := dial(t, cfg)
	other := dial(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		answered atomic.Int64
		failed   atomic.Int64
	)
	for range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := flooder.Call(ctx, &messages.Request{Op: &messages.Request_WaitTask{WaitTask: &messages.WaitTaskRequest{Id: "hold"}}})
			if err != nil || resp.GetEmpty() == nil {
				failed.Add(1)
				return
			}
			answered.Add(1)
		}()
	}

	// The daemon holds the flooder's requests; it stops reading the
	// flooder's stream once maxInFlight are in flight.
	require.Eventually(t, func() bool {
		return hostInfo(t, other).TasksPending >= maxInFlight
	}, 30*time.Second, 10*time.Millisecond)
	// Meanwhile the other client is served, and the flooder is held back
	// (within one batch of the limit).
	for range 50 {
		require.LessOrEqual(t, hostInfo(t, other).TasksPending, uint32(maxInFlight+clientBatchSize))
	}

	// Release: every flooded request is answered.
	resp, err := other.Call(ctx, &messages.Request{Op: &messages.Request_CancelTask{CancelTask: &messages.CancelTaskRequest{Id: "release"}}})
	require.NoError(t, err)
	require.NotNil(t, resp.GetEmpty())
	wg.Wait()
	require.Equal(t, int64(flood), answered.Load(), "failed: %d", failed.Load())
	d.alive(t)
}
