package statedir_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// TestOpen_CrashMidWrite simulates the two states a crash can leave: a
// temporary file Put never renamed (the record keeps its old value and Open
// removes the file) and a record file truncated by a writer that did not
// use Put (Load quarantines it and reports it).
func TestOpen_CrashMidWrite(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.Put(ctx, "vm", "a", vmRecord{UUID: "a", Domid: 1}))
	require.NoError(t, s.Put(ctx, "task", "t", "running"))
	require.NoError(t, s.Close())

	// A Put of a's next value died before its rename.
	writeRaw(t, dir, "vm", ".a.json.tmp-123456", `{"version":1,"kind":"vm","id":"a","data":{"uuid":"a","do`)
	writeRaw(t, dir, "task", ".t.json.tmp-9", ``)
	// b was written in place and cut short.
	whole, err := os.ReadFile(filepath.Join(dir, "vm", "a.json"))
	require.NoError(t, err)
	writeRaw(t, dir, "vm", "b.json", strings.Replace(string(whole), `"a"`, `"b"`, 1)[:len(whole)/2])

	s = reopen(t, dir)
	assert.ElementsMatch(t, []string{"a.json", "b.json"}, entries(t, dir, "vm"), "temporary file removed")
	assert.Equal(t, []string{"t.json"}, entries(t, dir, "task"))

	var a vmRecord
	require.NoError(t, s.Get(ctx, "vm", "a", &a))
	assert.Equal(t, vmRecord{UUID: "a", Domid: 1}, a, "a keeps the value before the crash")

	got, err := loadAll(t, s, "vm")
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
	assert.ErrorContains(t, err, "vm/b")
	assert.Equal(t, []string{"a"}, slices.Sorted(maps.Keys(got)))

	names := entries(t, dir, "vm")
	require.Len(t, names, 2)
	assert.Contains(t, names, "a.json")
	assert.Regexp(t, `^b\.json\.corrupt-\d{8}T\d{6}\.\d{9}Z$`, names[1-slices.Index(names, "a.json")])

	// Once moved aside the damaged record no longer troubles anyone.
	ids, err := s.List(ctx, "vm")
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, ids)
	_, err = loadAll(t, s, "vm")
	assert.NoError(t, err)
}
