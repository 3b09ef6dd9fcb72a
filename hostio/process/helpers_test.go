package process_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/process"
)

// helperEnv selects what the test binary does when re-executed as a daemon.
const helperEnv = "XENACTOR_PROCESS_HELPER"

// TestMain turns the test binary into a small daemon when helperEnv is set:
//
//	serve        print a line on stdout and one on stderr, then wait for SIGTERM and exit 0
//	ignore-term  like serve, but ignore SIGTERM
//	exit1        exit 1 at once
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		serve(false)
	case "ignore-term":
		serve(true)
	case "exit1":
		os.Exit(1)
	}
	os.Exit(2)
}

// serve is the helper daemon's main loop.
func serve(ignoreTerm bool) {
	sig := make(chan os.Signal, 1)
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sig, syscall.SIGTERM)
	}
	fmt.Fprintln(os.Stdout, "helper: hello on stdout")
	fmt.Fprintln(os.Stderr, "helper: hello on stderr")
	select {
	case <-sig:
		os.Exit(0)
	case <-time.After(time.Hour):
		os.Exit(3)
	}
}

// helperSpec returns a Spec that runs the test binary as the helper daemon
// in mode, with args (which only the pid file checks look at).
func helperSpec(t *testing.T, name, mode string, args ...string) process.Spec {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return process.Spec{
		Name: name,
		Path: exe,
		Args: append([]string{"-test.run=^$"}, args...),
		Env:  append(os.Environ(), helperEnv+"="+mode, "GORACE=atexit_sleep_ms=0"), // a race-enabled helper exits at once
	}
}

// newManager returns a Manager on a fresh run directory with grace.
func newManager(t *testing.T, grace time.Duration) *process.Manager {
	t.Helper()
	m, err := process.NewManager(t.TempDir(), process.WithGrace(grace))
	require.NoError(t, err)
	return m
}

// stopAtEnd stops p when the test ends.
func stopAtEnd(t *testing.T, p *process.Proc) {
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
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
