package emu_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// start runs a script as the helper, with short timeouts, and requires,
// after its Close, that nothing of its process group is left.
func start(t *testing.T, body string, onInfo func(emu.Message)) (*emu.Session, string) {
	t.Helper()
	dir := t.TempDir()
	path := emutest.Script(t, dir, "helper", body)
	s, err := emu.Start(emu.Config{Path: path, Args: emu.Args{Mode: emu.ModeSave, DomID: 1, Hypervisor: "/none"},
		StepTimeout: 300 * time.Millisecond, AbortGrace: 200 * time.Millisecond, OnInfo: onInfo})
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		pid := emutest.ScriptPID(path)
		require.NotZero(t, pid, "the script ran")
		// The group was sent SIGKILL; the kernel ends its processes soon
		// after.
		require.Eventually(t, func() bool { return !emutest.GroupAlive(pid) }, 5*time.Second,
			5*time.Millisecond, "a process of the helper's group is left")
	})
	return s, dir
}

// The hostile helpers: each fails the step it is in with a clear error.
func TestSession_HostileHelpers(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		kind error
		msg  string
	}{
		"exits at once":  {"exit 3", errdefs.ErrUnavailable, "exited without a result (exit status 3)"},
		"stderr":         {"echo out of memory >&2; exit 1", errdefs.ErrUnavailable, "stderr: out of memory"},
		"never prints":   {"sleep 600 & wait", errdefs.ErrTimeout, "nor progress within 300ms"},
		"garbage":        {"echo hello; exec sleep 600", errdefs.ErrInvalid, `not a protocol line: "hello"`},
		"unknown prefix": {"echo hello:x; exec sleep 600", errdefs.ErrInvalid, `unknown message "hello:x"`},
		"chatters": {"while :; do echo info:working; echo info:progress 5; sleep 0.01; done", errdefs.ErrTimeout,
			"nor progress within 300ms"},
		"long line": {"head -c 10000 /dev/zero | tr '\\0' a; exec sleep 600", errdefs.ErrInvalid,
			"a line longer than 4096 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := start(t, c.body, nil)
			_, err := s.Receive(context.Background())
			require.ErrorIs(t, err, c.kind)
			require.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestSession_InfoRestartsTimeout(t *testing.T) {
	var infos []emu.Message
	// Six info lines 100 ms apart outlast the 300 ms step timeout.
	s, _ := start(t, "for i in 1 2 3 4 5 6; do echo info:progress $i; sleep 0.1; done; echo result:xenguest",
		func(m emu.Message) { infos = append(infos, m) })
	m, err := s.Receive(context.Background())
	require.NoError(t, err)
	require.Equal(t, emu.Message{Kind: emu.KindResult, Arg: "xenguest"}, m)
	require.Len(t, infos, 6)
	p, ok := emu.ProgressOf(infos[5])
	require.True(t, ok)
	require.InDelta(t, 0.06, p, 1e-9)
	require.NoError(t, s.Wait(context.Background()))
}

// The exchange of a save: suspend:, done, result:, exit 0.
func TestSession_Save(t *testing.T) {
	s, dir := start(t, `echo suspend:; read x; echo "$x" > got; echo result:xenguest`, nil)
	m, err := s.Receive(context.Background())
	require.NoError(t, err)
	require.Equal(t, emu.KindSuspend, m.Kind)
	require.NoError(t, s.Send(emu.CmdDone))
	m, err = s.Receive(context.Background())
	require.NoError(t, err)
	require.Equal(t, emu.KindResult, m.Kind)
	require.NoError(t, s.Wait(context.Background()))
	b, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "done\n", string(b))
}

func TestSession_ErrorLine(t *testing.T) {
	s, _ := start(t, "echo error:no memory; exit 1", nil)
	m, err := s.Receive(context.Background())
	require.NoError(t, err)
	require.Equal(t, emu.Message{Kind: emu.KindError, Arg: "no memory"}, m)
	err = s.Wait(context.Background())
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
}

func TestSession_HangsAfterDone(t *testing.T) {
	s, _ := start(t, "echo suspend:; read x; exec sleep 600", nil)
	m, err := s.Receive(context.Background())
	require.NoError(t, err)
	require.Equal(t, emu.KindSuspend, m.Kind)
	require.NoError(t, s.Send(emu.CmdDone))
	_, err = s.Receive(context.Background())
	require.ErrorIs(t, err, errdefs.ErrTimeout)
}

func TestSession_ResultThenFailure(t *testing.T) {
	s, _ := start(t, "echo result:xenguest; exit 4", nil)
	_, err := s.Receive(context.Background())
	require.NoError(t, err)
	err = s.Wait(context.Background())
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
	require.Contains(t, err.Error(), "exit status 4 after its result")

	s, _ = start(t, "echo result:xenguest; exec sleep 600", nil)
	_, err = s.Receive(context.Background())
	require.NoError(t, err)
	require.ErrorIs(t, s.Wait(context.Background()), errdefs.ErrTimeout)
}

// Close sends abort: a helper that honours it exits by itself; one that
// ignores it, with a child, is killed with its whole group.
func TestSession_Close(t *testing.T) {
	s, dir := start(t, `echo suspend:; read x; echo "$x" > got; exit 7`, nil)
	_, err := s.Receive(context.Background())
	require.NoError(t, err)
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "abort\n", string(b))

	s, _ = start(t, "trap '' TERM INT; echo suspend:; sleep 600 & wait; wait", nil)
	_, err = s.Receive(context.Background())
	require.NoError(t, err)
	s.Close()
	s.Close() // idempotent
}

func TestSession_Cancel(t *testing.T) {
	s, _ := start(t, "exec sleep 600", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Receive(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestStart_Missing(t *testing.T) {
	_, err := emu.Start(emu.Config{Path: filepath.Join(t.TempDir(), "none"), Args: emu.Args{Mode: emu.ModeSave}})
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	require.True(t, strings.Contains(err.Error(), "none"))
}

// A command to a helper that exited says how it exited.
func TestSession_SendAfterExit(t *testing.T) {
	s, _ := start(t, "echo out of luck >&2; exit 5", nil)
	_, err := s.Receive(context.Background())
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
	err = s.Send(emu.CmdDone)
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
	require.Contains(t, err.Error(), `exited before it read "done" (exit status 5): stderr: out of luck`)
}
