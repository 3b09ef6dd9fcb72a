package supervisors

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrategy_Metrics_CountTheRestart(t *testing.T) {
	restarts := failuresTotal.WithLabelValues("vbd", ReasonPanic, string(ActionRestart))
	before := testutil.ToFloat64(restarts)
	system := newSystem(t)
	s := New(WithBackoff(fastBackoff))
	var parentProbe, failing probe
	vm := spawnParent(t, system, "vm/1", &parentProbe, s)
	vbd := spawnChild(t, system, vm, "vbd/51712", &failing)

	system.Root.Send(vbd, fail{reason: "boom"})
	assert.Equal(t, pong{starts: 2}, request(t, system, vbd, ping{}))
	require.Equal(t, before+1, testutil.ToFloat64(restarts))
}
