package daemons_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

func TestDaemon_Metrics_HealthFailureRestartAndUp(t *testing.T) {
	e := newEnv(t, "serve")
	e.cfg.Spec.Name = "metrics-health"
	var sick atomic.Int32
	e.cfg.HealthInterval = 10 * time.Millisecond
	e.cfg.Health = func(ctx context.Context) error {
		if sick.Add(-1) >= 0 {
			return errors.New("answers garbage")
		}
		return ping(ctx, e.sock)
	}
	value := func(name string) float64 { return telemetrytest.Value(t, name, "daemon", "metrics-health") }
	restarts, failures := value("xenactor_daemon_restarts_total"), value("xenactor_daemon_health_failures_total")
	c := e.spawn(t)
	first := waitStatus(t, c, running)
	require.Equal(t, 1.0, value("xenactor_daemon_up_state"))

	sick.Store(1)
	waitStatus(t, c, func(s daemons.Status) bool { return running(s) && s.Pid != first.Pid })
	require.Equal(t, restarts+1, value("xenactor_daemon_restarts_total"))
	require.Equal(t, failures+1, value("xenactor_daemon_health_failures_total"))
	require.Equal(t, 1.0, value("xenactor_daemon_up_state"))

	require.NoError(t, c.Stop(t.Context()))
	require.Equal(t, 0.0, value("xenactor_daemon_up_state"))
}

func TestDaemon_Metrics_GivenUp(t *testing.T) {
	e := newEnv(t, "exit1")
	e.cfg.Spec.Name = "metrics-crash"
	e.cfg.MaxRestarts = 1
	before := telemetrytest.Value(t, "xenactor_daemon_given_up_total", "daemon", "metrics-crash")
	c := e.spawn(t)
	waitStatus(t, c, func(s daemons.Status) bool { return s.State == daemons.StateFailed })
	require.Equal(t, before+1, telemetrytest.Value(t, "xenactor_daemon_given_up_total", "daemon", "metrics-crash"))
	require.Equal(t, 0.0, telemetrytest.Value(t, "xenactor_daemon_up_state", "daemon", "metrics-crash"))
}
