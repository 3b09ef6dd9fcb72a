package simtest

import (
	"os"
	"testing"

	"github.com/xenactor/xenactor/hostio/sim"
)

// Serve serves h on Unix sockets in a fresh short directory (socket paths
// are limited to about 100 bytes), as xenactor-simhost does, until the test
// ends.
func Serve(t testing.TB, h *sim.Host) *sim.Sockets {
	t.Helper()
	dir, err := os.MkdirTemp("", "sim")
	if err != nil {
		t.Fatalf("socket directory: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := h.ServeSockets(dir, nil)
	if err != nil {
		t.Fatalf("serving the simulated host: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
