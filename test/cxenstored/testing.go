package cxenstored

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/xenactor/xenactor/internal/testenv"
)

// StartForTest starts a C xenstored in a temporary directory for the test
// and stops it when the test ends. It skips the test when xenstored or gcc
// is missing, or fails it if XENACTOR_REQUIRE_EXTERNAL is set.
func StartForTest(t testing.TB, extraArgs ...string) *Daemon {
	t.Helper()
	testenv.RequireExternal(t, Binary(), "gcc")
	dir := t.TempDir()
	if len(filepath.Join(dir, socketName)) > maxSocketPath {
		dir = shortTempDir(t)
	}
	d, err := Start(context.Background(), dir, extraArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("cxenstored: %v", err)
		}
	})
	return d
}

// shortTempDir makes a directory whose socket path fits a sockaddr_un, in
// $TMPDIR or else in /tmp, and removes it when the test ends.
func shortTempDir(t testing.TB) string {
	t.Helper()
	for _, parent := range []string{os.TempDir(), "/tmp"} {
		if len(filepath.Join(parent, "cxs0123456789", socketName)) > maxSocketPath {
			continue
		}
		dir, err := os.MkdirTemp(parent, "cxs")
		if err != nil {
			t.Fatalf("cxenstored: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		return dir
	}
	t.Fatalf("cxenstored: no temporary directory short enough for a Unix socket path (TMPDIR=%s)", os.TempDir())
	return ""
}
