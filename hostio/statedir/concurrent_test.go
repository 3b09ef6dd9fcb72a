package statedir_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStore_ConcurrentPut has many goroutines replace one record while
// others write their own and read, list and load: the record ends holding
// one of the values written and no temporary file is left.
func TestStore_ConcurrentPut(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	const writers, puts = 8, 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for p := range puts {
				v := vmRecord{UUID: "shared", Domid: w*puts + p}
				assert.NoError(t, s.Put(ctx, "vm", "shared", v))
				assert.NoError(t, s.Put(ctx, "vm", fmt.Sprint("own-", w), v))
			}
		})
		wg.Go(func() {
			for range puts {
				var v vmRecord
				if err := s.Get(ctx, "vm", "shared", &v); err == nil {
					assert.Equal(t, "shared", v.UUID)
				}
				_, err := s.List(ctx, "vm")
				assert.NoError(t, err)
				assert.NoError(t, s.Load(ctx, "vm", func(string, json.RawMessage) error { return nil }))
			}
		})
	}
	wg.Wait()

	var got vmRecord
	require.NoError(t, s.Get(ctx, "vm", "shared", &got))
	assert.Equal(t, "shared", got.UUID)
	assert.GreaterOrEqual(t, got.Domid, 0)
	assert.Less(t, got.Domid, writers*puts)

	ids, err := s.List(ctx, "vm")
	require.NoError(t, err)
	assert.Len(t, ids, writers+1)
	assert.Len(t, entries(t, dir, "vm"), writers+1, "no temporary files left")
	_, err = loadAll(t, s, "vm")
	assert.NoError(t, err)
}

// TestStore_ConcurrentPutDelete races Put and Delete of one record and
// Load of its kind: Load never sees a damaged file.
func TestStore_ConcurrentPutDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 8 {
				assert.NoError(t, s.Put(ctx, "task", "t", i))
				assert.NoError(t, s.Delete(ctx, "task", "t"))
			}
		})
	}
	wg.Go(func() {
		for range 16 {
			_, err := loadAll(t, s, "task")
			assert.NoError(t, err)
		}
	})
	wg.Wait()
}
