package statedir_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestStore_PutGet_RoundTrip(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	want := vmRecord{UUID: "9f1c2b1e-0000-4000-8000-000000000001", Domid: 7, MemoryKiB: 1 << 20}
	require.NoError(t, s.Put(ctx, "vm", want.UUID, want))

	var got vmRecord
	require.NoError(t, s.Get(ctx, "vm", want.UUID, &got))
	assert.Equal(t, want, got)

	// The file is the documented envelope.
	b, err := os.ReadFile(filepath.Join(dir, "vm", want.UUID+".json"))
	require.NoError(t, err)
	var env struct {
		Version int             `json:"version"`
		Kind    string          `json:"kind"`
		ID      string          `json:"id"`
		Updated time.Time       `json:"updated"`
		Data    json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(b, &env))
	assert.Equal(t, statedir.Version, env.Version)
	assert.Equal(t, "vm", env.Kind)
	assert.Equal(t, want.UUID, env.ID)
	assert.WithinDuration(t, time.Now(), env.Updated, time.Minute)
	assert.JSONEq(t, `{"uuid":"9f1c2b1e-0000-4000-8000-000000000001","domid":7,"memory_kib":1048576}`, string(env.Data))

	// Replacing keeps one file, and the value survives a restart.
	want.Domid = 8
	require.NoError(t, s.Put(ctx, "vm", want.UUID, want))
	require.NoError(t, s.Close())
	s = reopen(t, dir)
	require.NoError(t, s.Get(ctx, "vm", want.UUID, &got))
	assert.Equal(t, want, got)
	assert.Equal(t, []string{want.UUID + ".json"}, entries(t, dir, "vm"))
}

func TestStore_Get_Missing(t *testing.T) {
	s, _ := openStore(t)
	var v vmRecord
	err := s.Get(context.Background(), "vm", "nope", &v)
	assert.True(t, errdefs.IsNotFound(err), "%v", err)
	assert.ErrorContains(t, err, "vm/nope")
}

func TestStore_Get_DamagedIsInvalidAndLeftInPlace(t *testing.T) {
	s, dir := openStore(t)
	writeRaw(t, dir, "vm", "a.json", `{"version":1,"kind":"vm","id":"a","data":`)
	var v vmRecord
	err := s.Get(context.Background(), "vm", "a", &v)
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
	assert.Equal(t, []string{"a.json"}, entries(t, dir, "vm"))

	// Data that does not fit the caller's type is invalid too.
	require.NoError(t, s.Put(context.Background(), "vm", "b", "a string"))
	err = s.Get(context.Background(), "vm", "b", &v)
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
}

func TestStore_Put_Unencodable(t *testing.T) {
	s, _ := openStore(t)
	err := s.Put(context.Background(), "vm", "a", func() {})
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
	ids, err := s.List(context.Background(), "vm")
	require.NoError(t, err)
	assert.Empty(t, ids)
}

func TestStore_Delete_Idempotent(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	require.NoError(t, s.Delete(ctx, "vm", "a"), "no kind directory yet")
	require.NoError(t, s.Put(ctx, "vm", "a", 1))
	require.NoError(t, s.Delete(ctx, "vm", "a"))
	require.NoError(t, s.Delete(ctx, "vm", "a"))
	var v int
	assert.True(t, errdefs.IsNotFound(s.Get(ctx, "vm", "a", &v)))
}

func TestStore_List_SortedPerKind(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	ids, err := s.List(ctx, "vm")
	require.NoError(t, err)
	assert.Equal(t, []string{}, ids, "unknown kind lists empty")

	// "a-b" sorts after "a" although its file "a-b.json" sorts before "a.json".
	for _, id := range []string{"c", "a-b", "B", "a", "a.1"} {
		require.NoError(t, s.Put(ctx, "vm", id, id))
	}
	require.NoError(t, s.Put(ctx, "task", "t1", 1))
	// Temporary, quarantined and foreign files are not records.
	writeRaw(t, dir, "vm", ".z.json.tmp-1", "{")
	writeRaw(t, dir, "vm", "z.json.corrupt-20240101T000000.000000000Z", "{")
	writeRaw(t, dir, "vm", "notes.txt", "hi")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "vm", "sub.json"), 0o700))

	ids, err = s.List(ctx, "vm")
	require.NoError(t, err)
	assert.Equal(t, []string{"B", "a", "a-b", "a.1", "c"}, ids)
	ids, err = s.List(ctx, "task")
	require.NoError(t, err)
	assert.Equal(t, []string{"t1"}, ids)
}

func TestStore_Context_CheckedFirst(t *testing.T) {
	s, dir := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var v int
	for name, err := range map[string]error{
		"put":    s.Put(ctx, "vm", "a", 1),
		"get":    s.Get(ctx, "vm", "a", &v),
		"delete": s.Delete(ctx, "vm", "a"),
		"load":   s.Load(ctx, "vm", func(string, json.RawMessage) error { return nil }),
	} {
		assert.True(t, errdefs.IsCanceled(err), "%s: %v", name, err)
	}
	_, err := s.List(ctx, "vm")
	assert.True(t, errdefs.IsCanceled(err), "list: %v", err)
	_, err = os.Stat(filepath.Join(dir, "vm"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "a cancelled Put wrote nothing")
}

func TestStore_Close(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.Put(ctx, "vm", "a", 1))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")

	var v int
	assert.True(t, errdefs.IsUnavailable(s.Put(ctx, "vm", "a", 2)))
	assert.True(t, errdefs.IsUnavailable(s.Get(ctx, "vm", "a", &v)))
	assert.True(t, errdefs.IsUnavailable(s.Delete(ctx, "vm", "a")))
	_, err := s.List(ctx, "vm")
	assert.True(t, errdefs.IsUnavailable(err))

	// Close released the lock.
	s2 := reopen(t, dir)
	require.NoError(t, s2.Get(ctx, "vm", "a", &v))
	assert.Equal(t, 1, v)
}

func TestOpen_CreatesPrivateDir(t *testing.T) {
	_, dir := openStore(t)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Zero(t, fi.Mode().Perm()&0o077, "mode %v", fi.Mode().Perm())
}

func TestOpen_NotADirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := statedir.Open(path)
	assert.Error(t, err)
}

func TestOpen_BadVersion(t *testing.T) {
	_, err := statedir.Open(t.TempDir(), statedir.WithVersion(0))
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
}
