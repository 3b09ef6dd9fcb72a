package statedir_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestStore_InvalidNames(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	bad := []string{
		"", ".", "..", "../x", "a/b", "/abs", `a\b`, ".hidden", ".lock", "a..b",
		"a b", "a\x00", "ü", "a:b", strings.Repeat("a", statedir.MaxNameLen+1),
	}
	for _, name := range bad {
		t.Run(name, func(t *testing.T) {
			var v int
			assertInvalid := func(op string, err error) {
				t.Helper()
				assert.True(t, errdefs.IsInvalid(err), "%s: %v", op, err)
			}
			assertInvalid("put id", s.Put(ctx, "vm", name, 1))
			assertInvalid("put kind", s.Put(ctx, name, "a", 1))
			assertInvalid("get id", s.Get(ctx, "vm", name, &v))
			assertInvalid("get kind", s.Get(ctx, name, "a", &v))
			assertInvalid("delete id", s.Delete(ctx, "vm", name))
			assertInvalid("delete kind", s.Delete(ctx, name, "a"))
			_, err := s.List(ctx, name)
			assertInvalid("list", err)
			assertInvalid("load", s.Load(ctx, name, func(string, json.RawMessage) error { return nil }))
		})
	}
	// Nothing was written, inside the directory or beside it.
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, ".lock", es[0].Name())
	es, err = os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Len(t, es, 1)
}

func TestStore_ValidNames(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, name := range []string{
		"a", "A-1_b.c", "9f1c2b1e-0000-4000-8000-000000000001", "x.json", "a.json.corrupt-1",
		strings.Repeat("a", statedir.MaxNameLen),
	} {
		require.NoError(t, s.Put(ctx, name, name, name), name)
		var got string
		require.NoError(t, s.Get(ctx, name, name, &got), name)
		assert.Equal(t, name, got)
		ids, err := s.List(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, []string{name}, ids)
	}
}
