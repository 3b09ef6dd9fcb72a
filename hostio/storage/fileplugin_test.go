package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/storage/storagetest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

const mib = 1 << 20

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newFileSR builds the file plugin and registers an SR "local" of it.
func newFileSR(t *testing.T) (*storage.Client, string) {
	t.Helper()
	reg := storage.NewRegistry()
	dir := storagetest.FileSR(t, reg, "local", storagetest.BuildFilePlugin(t))
	c, err := reg.Client("local")
	require.NoError(t, err)
	return c, dir
}

func requireKind(t *testing.T, err error, kind string, contains string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, kind, errdefs.Kind(err), "%v", err)
	require.Contains(t, err.Error(), contains)
}

func TestFilePlugin_VolumeLifecycle(t *testing.T) {
	c, dir := newFileSR(t)
	ctx := ctxFor(t)

	v, err := c.Create(ctx, "disk0", "the first disk", 64*mib)
	require.NoError(t, err)
	require.Equal(t, "disk0", v.Name)
	require.Equal(t, "the first disk", v.Description)
	require.True(t, v.ReadWrite)
	require.EqualValues(t, 64*mib, v.VirtualSize)
	require.Less(t, v.PhysicalUtilisation, uint64(mib), "a new volume is sparse")
	img := filepath.Join(dir, v.Key+".img")
	require.Equal(t, []string{"file://" + img}, v.URI)

	// Data at 10 MiB, a hole before it.
	data := bytes.Repeat([]byte("xenactor"), 512)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, 10*mib)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	st, err := c.Stat(ctx, v.Key)
	require.NoError(t, err)
	require.Equal(t, v.Key, st.Key)
	require.Nil(t, st.Keys, "not attached")

	_, err = c.Resize(ctx, v.Key, 32*mib)
	requireKind(t, err, "invalid", "shrinking")
	st, err = c.Resize(ctx, v.Key, 128*mib)
	require.NoError(t, err)
	require.EqualValues(t, 128*mib, st.VirtualSize)
	fi, err := os.Stat(img)
	require.NoError(t, err)
	require.EqualValues(t, 128*mib, fi.Size())

	clone, err := c.Clone(ctx, v.Key)
	require.NoError(t, err)
	snap, err := c.Snapshot(ctx, v.Key)
	require.NoError(t, err)
	require.True(t, clone.ReadWrite)
	require.False(t, snap.ReadWrite)
	for _, cp := range []storage.Volume{clone, snap} {
		require.NotEqual(t, v.Key, cp.Key)
		require.EqualValues(t, 128*mib, cp.VirtualSize)
		require.Less(t, cp.PhysicalUtilisation, uint64(4*mib), "the copy kept the holes")
		b, err := os.ReadFile(filepath.Join(dir, cp.Key+".img"))
		require.NoError(t, err)
		require.Len(t, b, 128*mib)
		require.Equal(t, data, b[10*mib:10*mib+len(data)])
		require.Equal(t, make([]byte, 4096), b[mib:mib+4096])
	}

	all, err := c.List(ctx)
	require.NoError(t, err)
	var keys []string
	for _, x := range all {
		keys = append(keys, x.Key)
	}
	require.ElementsMatch(t, []string{v.Key, clone.Key, snap.Key}, keys)

	for _, k := range keys {
		require.NoError(t, c.Destroy(ctx, k))
	}
	_, err = c.Stat(ctx, v.Key)
	requireKind(t, err, "not_found", v.Key)
	err = c.Destroy(ctx, v.Key)
	requireKind(t, err, "not_found", v.Key)
	all, err = c.List(ctx)
	require.NoError(t, err)
	require.Empty(t, all)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "files left in the SR")

	_, err = c.Create(ctx, "empty", "", 0)
	requireKind(t, err, "invalid", "size 0")
	_, err = c.Stat(ctx, "../../etc/passwd")
	requireKind(t, err, "invalid", "not a uuid")
}

func TestFilePlugin_Datapath(t *testing.T) {
	c, dir := newFileSR(t)
	ctx := ctxFor(t)
	v, err := c.Create(ctx, "disk", "", mib)
	require.NoError(t, err)

	err = c.Detach(ctx, v.Key, "5")
	requireKind(t, err, "not_found", "is not attached")
	err = c.Activate(ctx, v.Key, "5")
	requireKind(t, err, "not_found", "is not attached")

	a, err := c.Attach(ctx, v.Key, "5")
	require.NoError(t, err)
	require.Equal(t, storage.ImplementationXenDisk, a.Implementation)
	require.Equal(t, filepath.Join(dir, v.Key+".img"), a.Params)
	_, err = c.Attach(ctx, v.Key, "5")
	requireKind(t, err, "exists", "already attached to domain 5")
	_, err = c.Attach(ctx, v.Key, "6")
	requireKind(t, err, "busy", "attached to domain 5")
	err = c.Detach(ctx, v.Key, "6")
	requireKind(t, err, "not_found", "attached to domain 5, not 6")

	require.NoError(t, c.Activate(ctx, v.Key, "5"))
	err = c.Activate(ctx, v.Key, "5")
	requireKind(t, err, "exists", "already active")
	st, err := c.Stat(ctx, v.Key)
	require.NoError(t, err)
	require.Equal(t, map[string]string{storage.KeyAttachedDomain: "5", storage.KeyActive: "true"}, st.Keys)
	err = c.Destroy(ctx, v.Key)
	requireKind(t, err, "busy", "attached to domain 5")
	err = c.Detach(ctx, v.Key, "5")
	requireKind(t, err, "busy", "deactivate it first")

	require.NoError(t, c.Deactivate(ctx, v.Key, "5"))
	err = c.Deactivate(ctx, v.Key, "5")
	requireKind(t, err, "not_found", "not active")
	require.NoError(t, c.Detach(ctx, v.Key, "5"))
	st, err = c.Stat(ctx, v.Key)
	require.NoError(t, err)
	require.Nil(t, st.Keys)
	require.NoError(t, c.Destroy(ctx, v.Key))
}

// Concurrent attaches of one volume from separate processes: the volume's
// lock lets exactly one win.
func TestFilePlugin_ConcurrentAttach(t *testing.T) {
	c, dir := newFileSR(t)
	ctx := ctxFor(t)
	v, err := c.Create(ctx, "disk", "", mib)
	require.NoError(t, err)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Attach(ctx, v.Key, fmt.Sprint(i+1)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			requireKind(t, err, "busy", "is attached to domain")
		}
	}
	require.Equal(t, 1, won)

	// A destroy racing attaches: either it wins and every attach finds no
	// volume (and no file is left), or an attach wins and it is refused.
	v, err = c.Create(ctx, "disk2", "", mib)
	require.NoError(t, err)
	var destroyErr error
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Attach(ctx, v.Key, fmt.Sprint(i+1)) })
	}
	wg.Go(func() { destroyErr = c.Destroy(ctx, v.Key) })
	wg.Wait()
	won = 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	if destroyErr == nil {
		require.Zero(t, won, "attached a destroyed volume")
		for _, err := range errs {
			requireKind(t, err, "not_found", v.Key)
		}
		matches, err := filepath.Glob(filepath.Join(dir, v.Key+"*"))
		require.NoError(t, err)
		require.Empty(t, matches)
	} else {
		requireKind(t, destroyErr, "busy", "is attached")
		require.Equal(t, 1, won)
	}
}

func TestInstall_AndRegistry(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755))
	plugin := filepath.Join(dir, "plugin")
	require.NoError(t, storage.Install(plugin, bin))
	require.NoError(t, storage.Install(plugin, bin), "installing again replaces the links")
	for _, fn := range storage.Functions {
		target, err := os.Readlink(filepath.Join(plugin, fn))
		require.NoError(t, err)
		require.Equal(t, bin, target)
	}

	reg := storage.NewRegistry()
	require.NoError(t, reg.Add(storage.SR{Name: "local", PluginDir: plugin, URI: "file:///srv"}))
	requireKind(t, reg.Add(storage.SR{Name: "local", PluginDir: plugin}), "exists", "local")
	requireKind(t, reg.Add(storage.SR{Name: "a/b", PluginDir: plugin}), "invalid", "a/b")
	c, key, err := reg.Lookup("local/1234")
	require.NoError(t, err)
	require.Equal(t, "1234", key)
	require.Equal(t, "file:///srv", c.SR())
	require.Equal(t, plugin, c.PluginDir())
	_, _, err = reg.Lookup("other/1234")
	requireKind(t, err, "not_found", "other")
	for _, bad := range []string{"", "local", "/k", "local/", " local/k"} {
		_, _, err := storage.ParseVDI(bad)
		requireKind(t, err, "invalid", "<sr>/<key>")
	}
	require.Len(t, reg.SRs(), 1)
	reg.Remove("local")
	require.Empty(t, reg.SRs())
}
