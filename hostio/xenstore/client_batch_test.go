package xenstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Batches of more than 64 KiB (many callers writing large values at once)
// reach the daemon intact: the queue the next batch is taken from never
// shares its array with the batch being written.
func TestClient_LargeBatchesStayIntact(t *testing.T) {
	value := func(path string) []byte { return bytes.Repeat([]byte(path+";"), 3000/(len(path)+1)) }
	var mu sync.Mutex
	var bad []string
	c, _ := newFake(t, func(f *fake, m Message) {
		path, rest, _ := bytes.Cut(m.Payload, []byte{0})
		if !bytes.Equal(rest, value(string(path))) {
			mu.Lock()
			bad = append(bad, string(path))
			mu.Unlock()
		}
		f.reply(m, []byte("OK\x00"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 40 {
				path := fmt.Sprintf("/big/%d/%d", g, i)
				if err := c.Write(ctx, path, value(path)); err != nil {
					t.Errorf("%s: %v", path, err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, bad, "writes that reached the daemon corrupted")
	require.NoError(t, c.Err())
}
