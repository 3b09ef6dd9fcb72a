package host_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/sim"
)

// TestMigration_GuestAgentNoticesTheMove migrates a guest whose agent
// reports once an hour: the agent, resumed on the destination with what it
// wrote at the source still in its memory, sees a new unique-domain-id and
// publishes everything at once, so the destination's guest actor has the
// complete report without waiting for the agent's next round.
func TestMigration_GuestAgentNoticesTheMove(t *testing.T) {
	a := newMigrationHost(t, sim.Config{})
	b := newMigrationHost(t, sim.Config{})
	ctx := ctxFor(t)
	spec := newSpec()
	spec.Kernel = "sim:linux,agent=1h"
	c, err := a.hc.AddVM(ctx, spec)
	require.NoError(t, err)
	id, err := c.Start(ctx, false)
	require.NoError(t, err)
	task, err := a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "start: %s", task.Error)
	require.Eventually(t, func() bool {
		st, err := c.Stat(ctx)
		return err == nil && st.Guest != nil && st.Guest.OS.Name != "" && len(st.Guest.Networks) == 1
	}, waitFor, tick, "the guest agent's first report at the source")
	srcStat, err := c.Stat(ctx)
	require.NoError(t, err)

	id, err = c.Migrate(ctx, vm.MigrateVM{Dest: b.addr, Token: migrateToken, Live: true})
	require.NoError(t, err)
	task, err = a.tc.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tasks.Completed, task.State, "migrate: %s", task.Error)

	bc, err := b.hc.VM(ctx, spec.UUID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := bc.Stat(ctx)
		return err == nil && st.Guest != nil && st.Guest.OS.Name != "" && len(st.Guest.Networks) == 1 &&
			st.Guest.PVDrivers.Major != 0 && st.Guest.Memory.TotalKiB != 0 && len(st.Guest.Volumes) == 1
	}, waitFor, tick, "the agent published everything on the destination, long before its next round")
	st, err := bc.Stat(ctx)
	require.NoError(t, err)
	assert.Equal(t, srcStat.Guest.OS, st.Guest.OS)
	domB := st.DomID
	updated, err := b.xs.Read(ctx, fmt.Sprintf("/local/domain/%d/data/updated", domB))
	require.NoError(t, err)
	assert.NotEmpty(t, updated, "data/updated is written with the report")
}
