package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/hostio/etcd/etcdtest"
)

// next returns the next batch of w, failing after a while.
func next(t *testing.T, w *etcd.Watcher) []etcd.Event {
	t.Helper()
	select {
	case b, ok := <-w.C:
		require.True(t, ok, "watch ended: %v", w.Err())
		return b
	case <-time.After(20 * time.Second):
		t.Fatal("no watch event")
		return nil
	}
}

func TestWatch_PutsDeletesAndLeaseExpiry(t *testing.T) {
	url := etcdtest.Start(t)
	c, err := etcd.New([]string{"http://127.0.0.1:1", url})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	require.NoError(t, c.Put(ctx, "/w/before", []byte("old"), 0))
	w, err := c.Watch(ctx, "/w/")
	require.NoError(t, err)

	// Only changes after the watch began, and only under the prefix.
	require.NoError(t, c.Put(ctx, "/x", []byte("elsewhere"), 0))
	require.NoError(t, c.Put(ctx, "/w/a", []byte("1"), 0))
	require.Equal(t, []etcd.Event{{Type: etcd.EventPut, Key: "/w/a", Value: []byte("1")}}, next(t, w))
	require.NoError(t, c.Delete(ctx, "/w/before"))
	require.Equal(t, []etcd.Event{{Type: etcd.EventDelete, Key: "/w/before", Value: []byte{}}}, next(t, w))

	// A lease that expires deletes its key: the watch sees it.
	lease, err := c.Grant(ctx, time.Second)
	require.NoError(t, err)
	require.NoError(t, c.Put(ctx, "/w/leased", []byte("x"), lease))
	require.Equal(t, etcd.EventPut, next(t, w)[0].Type)
	gone := next(t, w)
	require.Equal(t, etcd.EventDelete, gone[0].Type)
	require.Equal(t, "/w/leased", gone[0].Key)

	// Cancelling ends the watch without an error.
	cancel()
	for range w.C {
	}
	require.NoError(t, w.Err())
}

func TestWatch_Unreachable(t *testing.T) {
	c, err := etcd.New([]string{"http://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = c.Watch(context.Background(), "/w/")
	require.Error(t, err)
}
