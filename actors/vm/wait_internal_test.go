package vm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/sim/simtest"
)

// A condition on two trees is seen whichever changes last: an unplug whose
// frontend closes after its backend does not wait for its timeout.
func TestWaitWatches_EitherPathChangesLast(t *testing.T) {
	xs := simtest.Dom0(t, simtest.NewHost(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	be, fe := "/test/backend/state", "/test/frontend/state"
	require.NoError(t, xs.Write(ctx, be, []byte("6"))) // the backend Closed first
	require.NoError(t, xs.Write(ctx, fe, []byte("5")))

	checked := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- waitWatches(ctx, xs, []string{"/test/backend", "/test/frontend"}, func(ctx context.Context) (bool, error) {
			checked <- struct{}{}
			return readState(ctx, xs, be) == 6 && readState(ctx, xs, fe) == 6, nil
		})
	}()
	// Let the watches' first events pass, so only the frontend's change
	// below can wake the wait.
	<-checked
	for quiet := false; !quiet; {
		select {
		case <-checked:
		case <-time.After(200 * time.Millisecond):
			quiet = true
		}
	}
	require.NoError(t, xs.Write(ctx, fe, []byte("6"))) // the frontend last
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the frontend's change was not seen")
	}
}
