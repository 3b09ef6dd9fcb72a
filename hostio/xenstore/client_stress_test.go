package xenstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Many callers with short deadlines against a daemon that answers late and
// out of order: every call gets its own reply or a timeout, never another's.
func TestStressCancelAndClose(t *testing.T) {
	c, _ := newFake(t, func(f *fake, m Message) {
		go func() {
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
			f.reply(m, []byte("v:"+FirstString(m.Payload)))
		}()
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, timeouts := 0, 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				path := fmt.Sprintf("/s/%d/%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(),
					time.Duration(rand.IntN(1500))*time.Microsecond)
				v, err := c.Read(ctx, path)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					ok++
					if string(v) != "v:"+path {
						t.Errorf("%s got %q", path, v)
					}
				case errdefs.IsTimeout(err):
					timeouts++
				default:
					t.Errorf("%s: %v", path, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d ok, %d timed out", ok, timeouts)
	require.NoError(t, c.Err())

	// Close while calls are in flight: each ends with a reply or ErrClosed.
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := c.Read(context.Background(), fmt.Sprintf("/c/%d/%d", g, i))
				if err != nil {
					if !errdefs.IsUnavailable(err) {
						t.Errorf("after close: %v", err)
					}
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.Close())
	wg.Wait()
}
