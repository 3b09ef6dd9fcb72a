package cxenstored_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/test/cxenstored"
)

// roundTrip sends req on conn and returns the reply.
func roundTrip(t *testing.T, conn net.Conn, req xenstore.Message) xenstore.Message {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(req.Append(nil)); err != nil {
		t.Fatalf("write %v: %v", req, err)
	}
	reply, err := xenstore.ReadMessage(conn)
	if err != nil {
		t.Fatalf("reply to %v: %v", req, err)
	}
	if reply.Op != req.Op || reply.ReqID != req.ReqID {
		t.Fatalf("reply to %v is %v", req, reply)
	}
	return reply
}

func TestDaemon_WriteRead(t *testing.T) {
	d := cxenstored.StartForTest(t)
	conn, err := net.Dial("unix", d.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const path, value = "/test/cxenstored", "hello"
	reply := roundTrip(t, conn, xenstore.Message{Op: xenstore.OpWrite, ReqID: 1, Payload: append(xenstore.Strings(path), value...)})
	if got := string(reply.Payload); got != "OK\x00" {
		t.Fatalf("WRITE reply payload = %q, want %q", got, "OK\x00")
	}
	reply = roundTrip(t, conn, xenstore.Message{Op: xenstore.OpRead, ReqID: 2, Payload: xenstore.Strings(path)})
	if got := string(reply.Payload); got != value {
		t.Fatalf("READ %s = %q, want %q", path, got, value)
	}
	conn.Close()

	pid := d.PID()
	if err := d.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Stop, kill(%d, 0) = %v, want ESRCH", pid, err)
	}
	if _, err := net.Dial("unix", d.SocketPath()); err == nil {
		t.Errorf("socket %s still accepts connections after Stop", d.SocketPath())
	}
}

func TestDaemon_StopIdempotent(t *testing.T) {
	d := cxenstored.StartForTest(t)
	for i := range 3 {
		if err := d.Stop(); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if err := syscall.Kill(d.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Stop, kill(%d, 0) = %v, want ESRCH", d.PID(), err)
	}
}

func TestStartForTest_LongTempDir(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	t.Run("sub", func(t *testing.T) {
		d := cxenstored.StartForTest(t)
		if strings.HasPrefix(d.SocketPath(), long) || len(d.SocketPath()) > 107 {
			t.Errorf("socket %s is under the long TMPDIR or too long", d.SocketPath())
		}
		conn, err := net.Dial("unix", d.SocketPath())
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})
}

func TestStart_ShimCached(t *testing.T) {
	testenv.RequireExternal(t, cxenstored.Binary(), "gcc")
	dir, err := os.MkdirTemp("", "cxs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()

	d, err := cxenstored.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "xs_nohv.so")
	before, err := os.Stat(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	d, err = cxenstored.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	after, err := os.Stat(so)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("shim rebuilt on second start: mtime %v -> %v", before.ModTime(), after.ModTime())
	}
}

func TestStart_BadBinary(t *testing.T) {
	testenv.RequireExternal(t, "gcc")
	dir, err := os.MkdirTemp("", "cxs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	fake := filepath.Join(dir, "fake-xenstored")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho fake daemon failing >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(cxenstored.EnvBinary, fake)
	_, err = cxenstored.Start(context.Background(), dir)
	if err == nil {
		t.Fatal("Start with a daemon that exits succeeded")
	}
	if !strings.Contains(err.Error(), "fake daemon failing") {
		t.Errorf("error %q does not carry the log tail", err)
	}
}

func TestStart_SocketPathTooLong(t *testing.T) {
	dir := "/tmp/" + strings.Repeat("x", 110)
	_, err := cxenstored.Start(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "Unix socket") {
		t.Fatalf("Start(%s) = %v, want a socket-path error", dir, err)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Start created %s despite failing", dir)
	}
}
