package statedir_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestLoad_CorruptQuarantined(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         ``,
		"not json":      `hello`,
		"truncated":     `{"version":1,"kind":"vm","id":"bad","data":{"uuid":`,
		"trailing":      `{"version":1,"kind":"vm","id":"bad","data":1} {}`,
		"not an object": `[1,2]`,
		"wrong kind":    `{"version":1,"kind":"task","id":"bad","data":1}`,
		"wrong id":      `{"version":1,"kind":"vm","id":"other","data":1}`,
		"no version":    `{"kind":"vm","id":"bad","data":1}`,
		"newer version": `{"version":2,"kind":"vm","id":"bad","data":1}`,
		"no data":       `{"version":1,"kind":"vm","id":"bad"}`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := openStore(t)
			require.NoError(t, s.Put(ctx, "vm", "a", 1))
			require.NoError(t, s.Put(ctx, "vm", "c", 3))
			writeRaw(t, dir, "vm", "bad.json", content)

			got, err := loadAll(t, s, "vm")
			require.Error(t, err)
			assert.True(t, errdefs.IsInvalid(err), "%v", err)
			assert.ErrorContains(t, err, "vm/bad")
			assert.ErrorContains(t, err, "bad.json.corrupt-", "the error says where the file went")
			assert.Equal(t, map[string]string{"a": "1", "c": "3"}, got, "the others still load")

			names := entries(t, dir, "vm")
			assert.Len(t, names, 3)
			assert.NotContains(t, names, "bad.json")
			assert.True(t, slices.ContainsFunc(names, func(n string) bool {
				return strings.HasPrefix(n, "bad.json.corrupt-")
			}), "%v", names)
		})
	}
}

func TestLoad_SeveralCorruptJoined(t *testing.T) {
	s, dir := openStore(t)
	require.NoError(t, s.Put(context.Background(), "vm", "ok", true))
	writeRaw(t, dir, "vm", "x.json", `{`)
	writeRaw(t, dir, "vm", "y.json", `{"version":99,"kind":"vm","id":"y","data":1}`)

	got, err := loadAll(t, s, "vm")
	assert.Equal(t, []string{"ok"}, slices.Sorted(maps.Keys(got)))
	var joined interface{ Unwrap() []error }
	require.ErrorAs(t, err, &joined)
	require.Len(t, joined.Unwrap(), 2)
	for _, e := range joined.Unwrap() {
		assert.True(t, errdefs.IsInvalid(e), "%v", e)
	}
	assert.ErrorContains(t, err, "vm/x")
	assert.ErrorContains(t, err, "version 99 newer than supported 1")
}

func TestLoad_FnErrorStops(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.Put(ctx, "vm", id, id))
	}
	boom := errors.New("boom")
	var seen []string
	err := s.Load(ctx, "vm", func(id string, raw json.RawMessage) error {
		seen = append(seen, id)
		if id == "b" {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "vm/b")
	assert.Equal(t, []string{"a", "b"}, seen, "in id order, stopping at the error")
}

func TestLoad_CancelledMidway(t *testing.T) {
	s, _ := openStore(t)
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.Put(t.Context(), "vm", id, id))
	}
	ctx, cancel := context.WithCancel(t.Context())
	var seen []string
	err := s.Load(ctx, "vm", func(id string, raw json.RawMessage) error {
		seen = append(seen, id)
		cancel()
		return nil
	})
	assert.True(t, errdefs.IsCanceled(err), "%v", err)
	assert.Equal(t, []string{"a"}, seen)
}

func TestLoad_FnMayUseStore(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for i := range 3 {
		require.NoError(t, s.Put(ctx, "task", fmt.Sprint(i), i))
	}
	// A restarted daemon fails the tasks that were in flight and forgets them.
	err := s.Load(ctx, "task", func(id string, raw json.RawMessage) error {
		if err := s.Put(ctx, "task", id, "failed"); err != nil {
			return err
		}
		return s.Delete(ctx, "task", id)
	})
	require.NoError(t, err)
	ids, err := s.List(ctx, "task")
	require.NoError(t, err)
	assert.Empty(t, ids)
}

func TestLoad_EmptyKind(t *testing.T) {
	s, _ := openStore(t)
	got, err := loadAll(t, s, "vm")
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestStore_Migrate(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t) // version 1: memory in MiB
	require.NoError(t, s.Put(ctx, "vm", "a", map[string]int{"memory_mib": 2}))
	require.NoError(t, s.Close())

	// Version 2 counts memory in KiB; the caller migrates.
	var calls []string
	migrate := func(kind string, from int, data json.RawMessage) (json.RawMessage, error) {
		calls = append(calls, fmt.Sprintf("%s@%d", kind, from))
		var v1 struct {
			MemoryMiB int `json:"memory_mib"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(vmRecord{UUID: "a", MemoryKiB: int64(v1.MemoryMiB) * 1024})
	}
	s = reopen(t, dir, statedir.WithVersion(2), statedir.WithMigrate(migrate))
	var got vmRecord
	require.NoError(t, s.Get(ctx, "vm", "a", &got))
	assert.Equal(t, vmRecord{UUID: "a", MemoryKiB: 2048}, got)
	loaded, err := loadAll(t, s, "vm")
	require.NoError(t, err)
	assert.JSONEq(t, `{"uuid":"a","domid":0,"memory_kib":2048}`, loaded["a"])
	assert.Equal(t, []string{"vm@1", "vm@1"}, calls)

	// Records written now are version 2 and need no migration.
	require.NoError(t, s.Put(ctx, "vm", "a", got))
	require.NoError(t, s.Get(ctx, "vm", "a", &got))
	assert.Len(t, calls, 2)
	require.NoError(t, s.Close())

	// A daemon rolled back to version 1 must not guess at version 2 data.
	s = reopen(t, dir)
	err = s.Get(ctx, "vm", "a", &got)
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
	_, err = loadAll(t, s, "vm")
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
}

func TestStore_MigrateFails(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.Put(ctx, "vm", "old", 1))
	require.NoError(t, s.Close())

	noWay := errors.New("no way")
	s = reopen(t, dir, statedir.WithVersion(2), statedir.WithMigrate(
		func(string, int, json.RawMessage) (json.RawMessage, error) { return nil, noWay }))
	require.NoError(t, s.Put(ctx, "vm", "new", 2))

	got, err := loadAll(t, s, "vm")
	assert.ErrorIs(t, err, noWay)
	assert.ErrorContains(t, err, "vm/old")
	assert.Equal(t, map[string]string{"new": "2"}, got)
	assert.ElementsMatch(t, []string{"old.json", "new.json"}, entries(t, dir, "vm"),
		"a record that fails to migrate is left in place")
}

func TestStore_OlderVersionWithoutMigrate(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.Put(ctx, "vm", "a", vmRecord{UUID: "a"}))
	require.NoError(t, s.Close())

	s = reopen(t, dir, statedir.WithVersion(3))
	var got vmRecord
	require.NoError(t, s.Get(ctx, "vm", "a", &got))
	assert.Equal(t, vmRecord{UUID: "a"}, got)
}
