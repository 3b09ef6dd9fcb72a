package vm_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/internal/telemetry/telemetrytest"
)

func TestVMActor_Metrics_OperationsAtomsAndDevices(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	c := e.spawnVM(t, spec, nil)
	ctx := ctxFor(t)
	value := func(name string, labels ...string) float64 { return telemetrytest.Value(t, name, labels...) }
	startsOK := value("xenactor_vm_operations_total", "kind", "VM.start", "result", "ok")
	startSeconds := value("xenactor_vm_operation_duration_seconds", "kind", "VM.start")
	creates := value("xenactor_vm_atom_duration_seconds", "atom", "create")
	teardowns := value("xenactor_vm_atom_duration_seconds", "atom", "teardown")
	vifPlugs := value("xenactor_vm_device_plug_duration_seconds", "class", "vif")
	vifUnplugs := value("xenactor_vm_device_operations_total", "class", "vif", "op", "unplug", "result", "ok")

	id, err := c.Start(ctx, false)
	e.succeed(t, id, err)
	require.Equal(t, startsOK+1, value("xenactor_vm_operations_total", "kind", "VM.start", "result", "ok"))
	require.Equal(t, startSeconds+1, value("xenactor_vm_operation_duration_seconds", "kind", "VM.start"))
	require.Equal(t, creates+1, value("xenactor_vm_atom_duration_seconds", "atom", "create"))
	require.Equal(t, vifPlugs+1, value("xenactor_vm_device_plug_duration_seconds", "class", "vif"))

	id, err = c.UnplugVIF(ctx, 0, false)
	e.succeed(t, id, err)
	require.Equal(t, vifUnplugs+1,
		value("xenactor_vm_device_operations_total", "class", "vif", "op", "unplug", "result", "ok"))

	id, err = c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	require.Equal(t, teardowns+1, value("xenactor_vm_atom_duration_seconds", "atom", "teardown"))

	// A failed operation is counted under its error kind.
	pauses := telemetrytest.Sum(t, "xenactor_vm_operations_total", "kind", "VM.pause")
	id, err = c.Pause(ctx)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.NotEmpty(t, task.ErrorKind)
	require.Positive(t, value("xenactor_vm_operations_total", "kind", "VM.pause", "result", task.ErrorKind))
	require.Equal(t, pauses+1, telemetrytest.Sum(t, "xenactor_vm_operations_total", "kind", "VM.pause"))
}
