package xenstored_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstoretest"
)

// TestConformance runs the xenstore conformance suite against the
// project's daemon on a Unix socket.
func TestConformance(t *testing.T) {
	xenstoretest.Run(t, func(t *testing.T) xenstoretest.Target {
		dir, err := os.MkdirTemp("", "xs") // short: a socket path holds 107 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		sock := filepath.Join(dir, "socket")
		l, err := xenstored.Listen(sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := xenstored.New(xenstored.Config{})
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		t.Cleanup(func() {
			_ = srv.Close()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
		return xenstoretest.SocketTarget(sock, xenstoretest.Caps{Quota: true, WatchDepth: true, Control: true})
	})
}
