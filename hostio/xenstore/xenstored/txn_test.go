package xenstored

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Creating different devices under one parent in parallel transactions
// must not conflict: that is what livelocked oxenstored's mass VM starts.
func TestTxn_ParallelChildCreationDoesNotConflict(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	require.NoError(t, dom0.Mkdir(ctx, "/local/domain/0/backend/vbd/5"))
	require.NoError(t, dom0.Mkdir(ctx, "/local/domain/5/device/vbd"))
	const n = 8
	txs := make([]*xenstore.Tx, n)
	for i := range txs {
		tx, err := dom0.Transaction(ctx)
		require.NoError(t, err)
		txs[i] = tx
		require.NoError(t, tx.Write(ctx, fmt.Sprintf("/local/domain/0/backend/vbd/5/%d/state", 768+i), []byte("1")))
		require.NoError(t, tx.Write(ctx, fmt.Sprintf("/local/domain/5/device/vbd/%d/state", 768+i), []byte("1")))
	}
	for i, tx := range txs {
		require.NoError(t, tx.Commit(ctx), "transaction %d", i)
	}
	kids, err := dom0.Directory(ctx, "/local/domain/0/backend/vbd/5")
	require.NoError(t, err)
	assert.Len(t, kids, n)
	requireConsistent(t, srv)
}

func TestTxn_ConflictsOnlyOnWhatItRead(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	require.NoError(t, dom0.Write(ctx, "/t/a", []byte("1")))
	require.NoError(t, dom0.Write(ctx, "/t/b", []byte("1")))

	cases := []struct {
		name     string
		inTx     func(tx *xenstore.Tx) error
		outside  func() error
		conflict bool
	}{
		{"read then outside write", func(tx *xenstore.Tx) error { _, err := tx.Read(ctx, "/t/a"); return err },
			func() error { return dom0.Write(ctx, "/t/a", []byte("2")) }, true},
		{"read then unrelated write", func(tx *xenstore.Tx) error { _, err := tx.Read(ctx, "/t/a"); return err },
			func() error { return dom0.Write(ctx, "/t/b", []byte("2")) }, false},
		{"directory then child added", func(tx *xenstore.Tx) error { _, err := tx.Directory(ctx, "/t"); return err },
			func() error { return dom0.Write(ctx, "/t/c", nil) }, true},
		{"rm subtree then child added below", func(tx *xenstore.Tx) error { return tx.Rm(ctx, "/t") },
			func() error { return dom0.Write(ctx, "/t/a/deeper", nil) }, true},
		{"create then created outside", func(tx *xenstore.Tx) error { return tx.Write(ctx, "/t/new", nil) },
			func() error { return dom0.Write(ctx, "/t/new", []byte("x")) }, true},
		{"create sibling", func(tx *xenstore.Tx) error { return tx.Write(ctx, "/t/mine", nil) },
			func() error { return dom0.Write(ctx, "/t/theirs", nil) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, dom0.Rm(ctx, "/t"))
			require.NoError(t, dom0.Write(ctx, "/t/a", []byte("1")))
			require.NoError(t, dom0.Write(ctx, "/t/b", []byte("1")))
			tx, err := dom0.Transaction(ctx)
			require.NoError(t, err)
			require.NoError(t, tc.inTx(tx))
			require.NoError(t, tc.outside())
			err = tx.Commit(ctx)
			if tc.conflict {
				assert.True(t, errdefs.IsConflict(err), "got %v", err)
			} else {
				assert.NoError(t, err)
			}
			requireConsistent(t, srv)
		})
	}
}

func TestTxn_RemoveAndRecreate(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	require.NoError(t, dom0.Write(ctx, "/r/x/old", []byte("1")))
	require.NoError(t, dom0.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		if err := tx.Rm(ctx, "/r/x"); err != nil {
			return err
		}
		return tx.Write(ctx, "/r/x/new", []byte("2"))
	}))
	kids, err := dom0.Directory(ctx, "/r/x")
	require.NoError(t, err)
	assert.Equal(t, []string{"new"}, kids)
	requireConsistent(t, srv)
}

func TestTxn_GuestNodeQuotaAtCommit(t *testing.T) {
	q := DefaultQuota()
	q.Nodes = 10
	srv, dom0, _ := testServer(t, Config{Quota: &q})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	// Two transactions each within the quota, together over it.
	tx1, err := g.Transaction(ctx)
	require.NoError(t, err)
	tx2, err := g.Transaction(ctx)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		require.NoError(t, tx1.Write(ctx, fmt.Sprintf("data/a%d", i), nil))
		require.NoError(t, tx2.Write(ctx, fmt.Sprintf("data/b%d", i), nil))
	}
	require.NoError(t, tx1.Commit(ctx))
	assert.True(t, xenstore.IsQuotaError(tx2.Commit(ctx)))
	requireConsistent(t, srv)
}

func TestTxn_ConcurrentIncrementsAreExact(t *testing.T) {
	srv, _, sock := testServer(t, Config{})
	ctx := tctx(t)
	const workers, each = 6, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		c := dial(t, sock)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := c.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
					v, err := tx.Read(ctx, "/counter")
					if err != nil && !errdefs.IsNotFound(err) {
						return err
					}
					n := 0
					fmt.Sscan(string(v), &n)
					return tx.Write(ctx, "/counter", []byte(fmt.Sprint(n+1)))
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	c := dial(t, sock)
	v, err := c.Read(ctx, "/counter")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(workers*each), string(v))
	requireConsistent(t, srv)
}
