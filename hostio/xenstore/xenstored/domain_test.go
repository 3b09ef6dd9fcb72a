package xenstored

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestDomainConn_RelativePathsAndPermissions(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	other := guest(t, srv, dom0, 6)

	require.NoError(t, g.Write(ctx, "data/os_name", []byte("Linux")))
	v, err := dom0.Read(ctx, "/local/domain/5/data/os_name")
	require.NoError(t, err)
	assert.Equal(t, "Linux", string(v))
	perms, err := dom0.GetPerms(ctx, "/local/domain/5/data/os_name")
	require.NoError(t, err)
	assert.Equal(t, uint32(5), perms[0].Domid, "a guest owns what it creates")

	// The home directory is dom0's: readable, not writable.
	_, err = g.Read(ctx, "/local/domain/5")
	require.NoError(t, err)
	assert.True(t, errdefs.IsPermission(g.Write(ctx, "name", []byte("evil"))))
	assert.True(t, errdefs.IsPermission(g.Write(ctx, "/local/domain/5/newdir/x", nil)))
	// Another guest's data is invisible, and so is whether a node exists there.
	_, err = other.Read(ctx, "/local/domain/5/data/os_name")
	assert.True(t, errdefs.IsPermission(err), "got %v", err)
	_, err = other.Read(ctx, "/local/domain/5/data/nope")
	assert.True(t, errdefs.IsPermission(err), "a missing node under an unreadable parent is EACCES, got %v", err)
	// On a socket, relative paths are dom0's, as in C xenstored.
	require.NoError(t, dom0.Write(ctx, "data/x", nil))
	ok, err := dom0.Exists(ctx, "/local/domain/0/data/x")
	require.NoError(t, err)
	assert.True(t, ok)
	// A guest cannot give its nodes away or take dom0's.
	assert.True(t, errdefs.IsPermission(g.SetPerms(ctx, "data/os_name",
		[]xenstore.Perm{{Domid: 6, Access: xenstore.AccessNone}})))
	assert.True(t, errdefs.IsPermission(g.SetPerms(ctx, "/local/domain/5",
		[]xenstore.Perm{{Domid: 5, Access: xenstore.AccessNone}})))
	// But it may share its own node.
	require.NoError(t, g.SetPerms(ctx, "data/os_name", []xenstore.Perm{{Domid: 5, Access: xenstore.AccessNone},
		{Domid: 6, Access: xenstore.AccessRead}}))
	v, err = other.Read(ctx, "/local/domain/5/data/os_name")
	require.NoError(t, err)
	assert.Equal(t, "Linux", string(v))
	requireConsistent(t, srv)
}

func TestDomainConn_RelativeWatch(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	w, err := g.Watch(ctx, "control", "ctl")
	require.NoError(t, err)
	assert.Equal(t, xenstore.WatchEvent{Path: "control", Token: "ctl"}, nextEvent(t, w))
	require.NoError(t, dom0.Write(ctx, "/local/domain/5/control/shutdown", []byte("poweroff")))
	assert.Equal(t, xenstore.WatchEvent{Path: "control/shutdown", Token: "ctl"}, nextEvent(t, w))

	// An absolute watch gets absolute paths; an unreadable node fires nothing.
	wa, err := g.Watch(ctx, "/local/domain/6", "abs")
	require.NoError(t, err)
	nextEvent(t, wa) // the initial event comes whatever the permissions
	guest(t, srv, dom0, 6)
	noEvent(t, g, wa)
}

func TestRelease_RemovesOwnedNodesAndDisconnects(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	require.NoError(t, g.Write(ctx, "data/a/b", []byte("x")))
	require.NoError(t, g.Write(ctx, "device/vbd/768/state", []byte("1")))
	rel, err := dom0.WatchDepth(ctx, xenstore.WatchReleaseDomain, "rel", 1)
	require.NoError(t, err)
	assert.Equal(t, xenstore.WatchReleaseDomain, nextEvent(t, rel).Path)

	require.NoError(t, dom0.Release(ctx, 5))
	assert.Equal(t, xenstore.WatchReleaseDomain+"/5", nextEvent(t, rel).Path)
	select {
	case <-g.Done():
	case <-ctx.Done():
		t.Fatal("the released domain's connection stayed open")
	}
	for _, p := range []string{"data", "device", "control"} {
		ok, err := dom0.Exists(ctx, "/local/domain/5/"+p)
		require.NoError(t, err)
		assert.False(t, ok, "%s owned by the released domain remains", p)
	}
	ok, err := dom0.Exists(ctx, "/local/domain/5")
	require.NoError(t, err)
	assert.True(t, ok, "dom0's own nodes stay")
	in, err := dom0.IsDomainIntroduced(ctx, 5)
	require.NoError(t, err)
	assert.False(t, in)
	_, err = srv.ConnectDomain(5)
	assert.True(t, errdefs.IsNotFound(err))
	requireConsistent(t, srv)
}

func TestDomainShutdown_FiresOnceUntilResume(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	require.NoError(t, dom0.Introduce(ctx, 9, 1, 1))
	rel, err := dom0.Watch(ctx, xenstore.WatchReleaseDomain, "r")
	require.NoError(t, err)
	nextEvent(t, rel)
	srv.DomainShutdown(9)
	nextEvent(t, rel)
	srv.DomainShutdown(9)
	noEvent(t, dom0, rel)
	require.NoError(t, dom0.Resume(ctx, 9))
	srv.DomainShutdown(9)
	nextEvent(t, rel)
}

func TestSetTarget_DeviceModelActsForItsGuest(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	guest(t, srv, dom0, 5)
	dm := guest(t, srv, dom0, 8)
	require.NoError(t, dom0.Write(ctx, "/local/domain/5/data/x", []byte("1")))
	require.NoError(t, dom0.SetPerms(ctx, "/local/domain/5/data/x", []xenstore.Perm{{Domid: 5, Access: xenstore.AccessNone}}))
	_, err := dm.Read(ctx, "/local/domain/5/data/x")
	require.True(t, errdefs.IsPermission(err))
	require.NoError(t, dom0.SetTarget(ctx, 8, 5))
	require.NoError(t, dm.Write(ctx, "/local/domain/5/data/x", []byte("2")))
}

func TestQuota_Guest(t *testing.T) {
	q := DefaultQuota()
	q.Nodes, q.Watches, q.Transactions, q.NodeSize, q.Perms = 20, 3, 2, 64, 2
	srv, dom0, _ := testServer(t, Config{Quota: &q})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)

	t.Run("nodes", func(t *testing.T) {
		var err error
		n := 0
		for ; n < 100 && err == nil; n++ {
			err = g.Write(ctx, fmt.Sprintf("data/n%d", n), nil)
		}
		require.True(t, xenstore.IsQuotaError(err), "got %v after %d nodes", err, n)
		assert.Less(t, n, 25)
		// dom0 is exempt.
		for i := 0; i < 100; i++ {
			require.NoError(t, dom0.Write(ctx, fmt.Sprintf("/local/domain/5/data/d%d", i), nil))
		}
		// Raising the quota lets the guest go on.
		require.NoError(t, dom0.SetDomainQuota(ctx, 5, "nodes", 1000))
		require.NoError(t, g.Write(ctx, "data/more", nil))
		v, err := dom0.GetDomainQuota(ctx, 5, "nodes")
		require.NoError(t, err)
		assert.EqualValues(t, 1000, v)
	})
	t.Run("node-size", func(t *testing.T) {
		require.True(t, xenstore.IsQuotaError(g.Write(ctx, "data/big", make([]byte, 65))))
		require.NoError(t, dom0.Write(ctx, "/local/domain/5/data/big", make([]byte, 2048)))
	})
	t.Run("watches", func(t *testing.T) {
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, err = g.Watch(ctx, fmt.Sprintf("data/w%d", i), "t")
		}
		require.True(t, xenstore.IsQuotaError(err), "got %v", err)
		require.NoError(t, g.ResetWatches(ctx))
		_, err = g.Watch(ctx, "data/again", "t")
		require.NoError(t, err)
	})
	t.Run("transactions", func(t *testing.T) {
		var txs []*xenstore.Tx
		var err error
		for i := 0; i < 5 && err == nil; i++ {
			var tx *xenstore.Tx
			if tx, err = g.Transaction(ctx); err == nil {
				txs = append(txs, tx)
			}
		}
		require.True(t, xenstore.IsQuotaError(err), "got %v", err)
		require.NoError(t, txs[0].Abort(ctx))
		tx, err := g.Transaction(ctx)
		require.NoError(t, err)
		require.NoError(t, tx.Abort(ctx))
	})
	t.Run("permissions", func(t *testing.T) {
		require.NoError(t, g.Write(ctx, "data/p", nil))
		require.True(t, xenstore.IsQuotaError(g.SetPerms(ctx, "data/p", []xenstore.Perm{
			{Domid: 5, Access: xenstore.AccessNone}, {Domid: 1, Access: xenstore.AccessRead},
			{Domid: 2, Access: xenstore.AccessRead}})))
	})
	t.Run("privileged-only", func(t *testing.T) {
		assert.True(t, errdefs.IsPermission(g.SetDomainQuota(ctx, 5, "nodes", 1<<20)))
		assert.True(t, errdefs.IsPermission(g.Introduce(ctx, 7, 1, 1)))
		assert.True(t, errdefs.IsPermission(g.Release(ctx, 6)))
		_, err := g.Control(ctx, "check")
		assert.True(t, errdefs.IsPermission(err))
	})
	requireConsistent(t, srv)
}

func TestQuota_GetListsNames(t *testing.T) {
	_, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	m, err := dom0.Do(ctx, xenstore.Message{Op: xenstore.OpGetQuota, Payload: []byte{0}})
	require.NoError(t, err)
	assert.Equal(t, "nodes watches transactions node-size permissions outstanding transaction-nodes",
		xenstore.FirstString(m.Payload))
	v, err := dom0.GetQuota(ctx, "watches")
	require.NoError(t, err)
	assert.EqualValues(t, 128, v)
	require.NoError(t, dom0.SetQuota(ctx, "watches", 50))
	v, err = dom0.GetQuota(ctx, "watches")
	require.NoError(t, err)
	assert.EqualValues(t, 50, v)
	_, err = dom0.GetQuota(ctx, "bogus")
	assert.True(t, errdefs.IsInvalid(err))
	_, err = dom0.GetDomainQuota(ctx, 77, "nodes")
	assert.True(t, errdefs.IsNotFound(err))
}

func TestHostileGuest_JunkIsContained(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	for i := 0; i < 50; i++ {
		_ = g.Write(ctx, fmt.Sprintf("data/junk%d", i), []byte{0, 1, 2, 0xff, '\n'})
		_ = g.Write(ctx, "device/vbd/768/state", []byte("garbage"))
		_ = g.Write(ctx, "/local/domain/0/backend/vbd/5/768/state", []byte("4"))
		_ = g.Rm(ctx, "/local/domain/5")
		_ = g.Rm(ctx, "/")
	}
	ok, err := dom0.Exists(ctx, "/local/domain/0/backend")
	require.NoError(t, err)
	assert.False(t, ok, "a guest wrote into dom0's backend tree")
	ok, err = dom0.Exists(ctx, "/local/domain/5")
	require.NoError(t, err)
	assert.True(t, ok, "a guest removed its dom0-owned home")
	requireConsistent(t, srv)
}

func TestIntroduce_RejectsBadArguments(t *testing.T) {
	_, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	for _, p := range []string{"0\x001\x001\x00", "x\x001\x001\x00", "5\x00", "70000\x001\x001\x00", "5\x00gfn\x001\x00"} {
		_, err := dom0.Do(ctx, xenstore.Message{Op: xenstore.OpIntroduce, Payload: []byte(p)})
		assert.True(t, errdefs.IsInvalid(err), "INTRODUCE %q: %v", p, err)
	}
	assert.True(t, errdefs.IsNotFound(dom0.Release(ctx, 55)))
	_ = context.Background()
}

func TestReply_TooLargeIsE2BIG(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	var want []string
	for i := 0; i < 300; i++ {
		name := fmt.Sprintf("child-with-a-long-name-%04d", i)
		want = append(want, name)
		require.NoError(t, dom0.Write(ctx, "/wide/"+name, nil))
	}
	_, err := dom0.Do(ctx, xenstore.Message{Op: xenstore.OpDirectory, Payload: xenstore.Strings("/wide")})
	var xe *xenstore.Error
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, xenstore.E2BIG, xe.Errno)
	got, err := dom0.Directory(ctx, "/wide")
	require.NoError(t, err, "the client falls back to DIRECTORY_PART")
	assert.Equal(t, want, got)
	requireConsistent(t, srv)
}

func TestConnectDomain_Dom0IsPrivileged(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	ctx := tctx(t)
	nc, err := srv.ConnectDomain(0)
	require.NoError(t, err)
	c := xenstore.NewClient(nc)
	defer c.Close()
	require.NoError(t, c.Write(ctx, "backend/vbd/5/768/state", []byte("1")))
	v, err := c.Read(ctx, "/local/domain/0/backend/vbd/5/768/state")
	require.NoError(t, err)
	assert.Equal(t, "1", string(v))
	require.NoError(t, c.Introduce(ctx, 5, 1, 1))
	assert.Equal(t, 1, srv.Stats().Domains)
}

// SET_QUOTA while the domain's connections check their quotas must not race.
func TestQuota_SetWhileGuestWorks(t *testing.T) {
	srv, dom0, _ := testServer(t, Config{})
	ctx := tctx(t)
	g := guest(t, srv, dom0, 5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			_, _ = g.Watch(ctx, fmt.Sprintf("data/w%d", i), "t")
			_ = g.Write(ctx, fmt.Sprintf("data/n%d", i), nil)
		}
	}()
	for i := 0; i < 200; i++ {
		require.NoError(t, dom0.SetDomainQuota(ctx, 5, "watches", uint64(100+i)))
	}
	<-done
	v, err := dom0.GetDomainQuota(ctx, 5, "watches")
	require.NoError(t, err)
	assert.EqualValues(t, 299, v)
}
