package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/hostio/etcd/etcdtest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestClient_KeysAndLeases(t *testing.T) {
	url := etcdtest.Start(t)
	// An endpoint that refuses connections first: the client moves on.
	c, err := etcd.New([]string{"http://127.0.0.1:1", url})
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, c.Put(ctx, "/p/a", []byte("1"), 0))
	require.NoError(t, c.Put(ctx, "/p/b", []byte("2"), 0))
	require.NoError(t, c.Put(ctx, "/q", []byte("3"), 0))
	kvs, err := c.Get(ctx, "/p/")
	require.NoError(t, err)
	require.Equal(t, []etcd.KeyValue{{Key: "/p/a", Value: []byte("1")}, {Key: "/p/b", Value: []byte("2")}}, kvs)

	lease, err := c.Grant(ctx, time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Put(ctx, "/p/leased", []byte("x"), lease))
	require.NoError(t, c.KeepAlive(ctx, lease))
	kvs, err = c.Get(ctx, "/p/leased")
	require.NoError(t, err)
	require.Len(t, kvs, 1)
	require.Equal(t, lease, kvs[0].Lease)

	// Without keep-alives the lease expires and takes its key along.
	require.Eventually(t, func() bool {
		kvs, err := c.Get(ctx, "/p/leased")
		return err == nil && len(kvs) == 0
	}, 10*time.Second, 100*time.Millisecond)
	require.True(t, errdefs.IsNotFound(c.KeepAlive(ctx, lease)))
	err = c.Put(ctx, "/p/late", []byte("x"), lease)
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	lease, err = c.Grant(ctx, 10*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Put(ctx, "/p/revoked", []byte("x"), lease))
	require.NoError(t, c.Revoke(ctx, lease))
	kvs, err = c.Get(ctx, "/p/revoked")
	require.NoError(t, err)
	require.Empty(t, kvs)

	require.NoError(t, c.Delete(ctx, "/p/a"))
	kvs, err = c.Get(ctx, "/p/")
	require.NoError(t, err)
	require.Len(t, kvs, 1)

	_, err = etcd.New([]string{"127.0.0.1:2379"})
	require.True(t, errdefs.IsInvalid(err))
}
