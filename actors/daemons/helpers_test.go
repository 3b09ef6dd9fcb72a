package daemons_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/supervisors"
)

// helperEnv selects what the test binary does when re-executed as a daemon.
const helperEnv = "XENACTOR_DAEMONS_HELPER"

// TestMain turns the test binary into a small daemon when helperEnv is set:
//
//	serve   listen on the Unix socket named by the last argument and answer
//	        "ok" to every connection, until SIGTERM
//	exit1   exit 1 at once
//	xenconsoled  write the arguments and XENSTORED_PATH, a line each, to
//	        helper-args in the directory of --log-dir=, then wait for
//	        SIGTERM
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		serve(os.Args[len(os.Args)-1])
	case "exit1":
		os.Exit(1)
	case "xenconsoled":
		fakeXenconsoled()
	}
	os.Exit(2)
}

// fakeXenconsoled is the xenconsoled helper.
func fakeXenconsoled() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	var dir string
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--log-dir="); ok {
			dir = v
		}
	}
	lines := append(os.Args[1:], "XENSTORED_PATH="+os.Getenv("XENSTORED_PATH"))
	// Written aside and renamed, so a reader never sees it half written.
	tmp := filepath.Join(dir, "helper-args.tmp")
	err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, "helper-args"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(4)
	}
	<-sig
	os.Exit(0)
}

// serve is the helper daemon.
func serve(sock string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(4)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "ok")
			c.Close()
		}
	}()
	<-sig
	l.Close()
	os.Exit(0)
}

// env is a daemon's test set-up.
type env struct {
	system *actor.ActorSystem
	cfg    daemons.Config
	sock   string

	mu       sync.Mutex
	statuses []daemons.Status
}

// newEnv returns a Config that runs the test binary as a helper daemon in
// mode, answering on a Unix socket, with fast backoffs.
func newEnv(t *testing.T, mode string) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "x")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	m, err := process.NewManager(filepath.Join(dir, "run"), process.WithGrace(5*time.Second))
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	e := &env{system: actortest.System(t), sock: filepath.Join(dir, "d.sock")}
	e.cfg = daemons.Config{
		Manager: m,
		Spec: process.Spec{
			Name: "helper",
			Path: exe,
			Args: []string{"-test.run=^$", e.sock},
			Env:  append(os.Environ(), helperEnv+"="+mode, "GORACE=atexit_sleep_ms=0"), // a race-enabled helper exits at once
		},
		Ready:       func(ctx context.Context) error { return ping(ctx, e.sock) },
		Backoff:     supervisors.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond},
		MaxRestarts: 5,
		Window:      time.Hour,
		Notify: func(s daemons.Status) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.statuses = append(e.statuses, s)
		},
	}
	return e
}

// spawn starts the daemon's actor; the test stops it (and its process) at
// the end.
func (e *env) spawn(t *testing.T) daemons.Client {
	t.Helper()
	pid := e.system.Root.Spawn(daemons.Props(e.cfg))
	c := daemons.NewClient(e.system, pid)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// waitStatus waits until the daemon's Status satisfies ok and returns it.
func waitStatus(t *testing.T, c daemons.Client, ok func(daemons.Status) bool) daemons.Status {
	t.Helper()
	var last daemons.Status
	require.Eventually(t, func() bool {
		s, err := c.Status(t.Context())
		require.NoError(t, err)
		last = s
		return ok(s)
	}, 20*time.Second, 5*time.Millisecond, "last status: %+v", &last)
	return last
}

// running reports whether s is a running daemon.
func running(s daemons.Status) bool { return s.State == daemons.StateRunning && s.Pid != 0 }

// ping dials sock and reads the helper's answer.
func ping(ctx context.Context, sock string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ok\n" {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

// alive reports whether pid names a live, non-zombie process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == ')' {
			return i+2 < len(data) && data[i+2] != 'Z'
		}
	}
	return false
}
