package daemons_test

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
)

func TestDaemon_Start_RunsAndStops(t *testing.T) {
	e := newEnv(t, "serve")
	c := e.spawn(t)
	s := waitStatus(t, c, running)
	require.False(t, s.Adopted)
	require.Zero(t, s.Restarts)
	require.NoError(t, ping(t.Context(), e.sock))

	require.NoError(t, c.Stop(t.Context()))
	require.False(t, alive(s.Pid))
	require.NoFileExists(t, e.cfg.Manager.PidFile("helper"))
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Equal(t, daemons.StateStopped, e.statuses[len(e.statuses)-1].State)
}

func TestDaemon_Kill9_Restarts(t *testing.T) {
	e := newEnv(t, "serve")
	c := e.spawn(t)
	first := waitStatus(t, c, running)

	require.NoError(t, syscall.Kill(first.Pid, syscall.SIGKILL))
	s := waitStatus(t, c, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
	require.Equal(t, 1, s.Restarts)
	require.ErrorContains(t, s.LastErr, "killed")
	require.NoError(t, ping(t.Context(), e.sock))

	e.mu.Lock()
	defer e.mu.Unlock()
	var states []daemons.State
	for _, st := range e.statuses {
		states = append(states, st.State)
	}
	require.Subset(t, states, []daemons.State{daemons.StateStarting, daemons.StateRunning, daemons.StateBackoff})
}

func TestDaemon_CrashLoop_GivesUp(t *testing.T) {
	e := newEnv(t, "exit1")
	e.cfg.MaxRestarts = 3
	c := e.spawn(t)
	s := waitStatus(t, c, func(s daemons.Status) bool { return s.State == daemons.StateFailed })
	require.Equal(t, 3, s.Restarts)
	require.Zero(t, s.Pid)
	require.ErrorContains(t, s.LastErr, "exit")

	// Reset starts it again, and it fails again after as many restarts.
	c.Reset()
	waitStatus(t, c, func(s daemons.Status) bool { return s.State == daemons.StateFailed && s.Restarts == 6 })
}

func TestDaemon_Detach_NextActorAdopts(t *testing.T) {
	e := newEnv(t, "serve")
	pid1 := e.system.Root.Spawn(daemons.Props(e.cfg))
	c1 := daemons.NewClient(e.system, pid1)
	first := waitStatus(t, c1, running)

	require.NoError(t, c1.Detach(t.Context()))
	require.True(t, alive(first.Pid))
	require.NoError(t, ping(t.Context(), e.sock))

	c2 := e.spawn(t)
	s := waitStatus(t, c2, running)
	require.True(t, s.Adopted)
	require.Equal(t, first.Pid, s.Pid)

	// The adopted process is supervised too.
	require.NoError(t, syscall.Kill(first.Pid, syscall.SIGKILL))
	s = waitStatus(t, c2, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
	require.False(t, s.Adopted)
	require.Equal(t, 1, s.Restarts)

	require.NoError(t, c2.Stop(t.Context()))
	require.False(t, alive(s.Pid))
}

func TestDaemon_HealthFailure_Restarts(t *testing.T) {
	e := newEnv(t, "serve")
	var sick atomic.Int32 // how many probes still fail
	e.cfg.HealthInterval = 10 * time.Millisecond
	e.cfg.Health = func(ctx context.Context) error {
		if sick.Add(-1) >= 0 {
			return errors.New("answers garbage")
		}
		return ping(ctx, e.sock)
	}
	c := e.spawn(t)
	first := waitStatus(t, c, running)

	sick.Store(1)
	s := waitStatus(t, c, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
	require.Equal(t, 1, s.Restarts)
	require.ErrorContains(t, s.LastErr, "health: answers garbage")
	require.False(t, alive(first.Pid))
}

func TestDaemon_NeverReady_Restarts(t *testing.T) {
	e := newEnv(t, "serve")
	e.cfg.Ready = func(context.Context) error { return errors.New("no answer") }
	e.cfg.ReadyTimeout = 50 * time.Millisecond
	e.cfg.MaxRestarts = 1
	c := e.spawn(t)
	s := waitStatus(t, c, func(s daemons.Status) bool { return s.State == daemons.StateFailed })
	require.ErrorContains(t, s.LastErr, "not ready")
	require.NoFileExists(t, e.cfg.Manager.PidFile("helper"))
}
