package statedir_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/statedir"
)

// vmRecord stands in for a caller's record type.
type vmRecord struct {
	UUID      string `json:"uuid"`
	Domid     int    `json:"domid"`
	MemoryKiB int64  `json:"memory_kib"`
}

// openStore opens a store in a fresh directory, closed when the test ends.
func openStore(t *testing.T, opts ...statedir.Option) (*statedir.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	return reopen(t, dir, opts...), dir
}

// reopen opens the store in dir, closed when the test ends.
func reopen(t *testing.T, dir string, opts ...statedir.Option) *statedir.Store {
	t.Helper()
	s, err := statedir.Open(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// writeRaw writes a file into a kind directory directly, as a crash or a
// stray writer would.
func writeRaw(t *testing.T, dir, kind, name, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, kind), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, kind, name), []byte(content), 0o600))
}

// loadAll loads every record of kind as raw JSON text by id.
func loadAll(t *testing.T, s *statedir.Store, kind string) (map[string]string, error) {
	t.Helper()
	got := map[string]string{}
	err := s.Load(context.Background(), kind, func(id string, raw json.RawMessage) error {
		got[id] = string(raw)
		return nil
	})
	return got, err
}

// entries lists the names in a kind directory.
func entries(t *testing.T, dir, kind string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, kind))
	require.NoError(t, err)
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
