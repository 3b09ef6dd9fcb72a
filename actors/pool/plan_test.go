package pool

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

func TestPlan_LargestFirstOnTheMostFreeMemoryLeft(t *testing.T) {
	hosts := []*messages.PoolHost{
		{Name: "src", Up: true, MemoryFreeKib: 1 << 30},
		{Name: "a", Up: true, MemoryFreeKib: 1000},
		{Name: "b", Up: true, MemoryFreeKib: 700},
		{Name: "down", Up: false, MemoryFreeKib: 1 << 30},
	}
	vm := func(uuid string, kib uint64) *messages.VMSummary {
		return &messages.VMSummary{Spec: &messages.VMSpec{Uuid: uuid, MemoryKib: kib}}
	}
	got := plan(hosts, "src", []*messages.VMSummary{vm("small", 100), vm("big", 600), vm("mid", 400),
		vm("huge", 2000)})
	where := map[string]string{}
	for _, p := range got {
		where[p.vm.GetSpec().GetUuid()] = p.to
	}
	// huge fits nowhere; big goes to a (1000 -> 400), mid to b (700 -> 300),
	// small to a (400 left, more than b's 300).
	require.Equal(t, map[string]string{"huge": "", "big": "a", "mid": "b", "small": "a"}, where)
	require.Equal(t, "huge", got[0].vm.GetSpec().GetUuid(), "the largest first")

	require.Equal(t, []placement{}, plan(hosts, "src", nil))
	for _, p := range plan([]*messages.PoolHost{{Name: "src", Up: true, MemoryFreeKib: 1 << 30}}, "src",
		[]*messages.VMSummary{vm("x", 1)}) {
		require.Empty(t, p.to, "never the host being evacuated")
	}
}

// TestEvacuateOne_MigrationOutcome checks how an evacuated VM with a domain
// is reported: migrated to its target, or, when its migration failed,
// staying on its host with the migration's error.
func TestEvacuateOne_MigrationOutcome(t *testing.T) {
	var calls []string
	p := &Pool{cfg: Config{Migrate: func(_ context.Context, source, uuid, target string) error {
		calls = append(calls, source+" "+uuid+" "+target)
		if uuid == "bad" {
			return fmt.Errorf("%w: the destination is out of memory", errdefs.ErrUnavailable)
		}
		return nil
	}}}
	vm := func(uuid string, st messages.PowerState) *messages.VMSummary {
		return &messages.VMSummary{Spec: &messages.VMSpec{Uuid: uuid, Name: uuid}, PowerState: st}
	}
	ev := p.evacuateOne(context.Background(), "src", placement{vm: vm("good", messages.PowerState_POWER_STATE_RUNNING),
		to: "a"})
	require.Nil(t, ev.GetError())
	require.Equal(t, "a", ev.GetTo())
	require.Equal(t, HowMigrated, ev.GetHow())
	ev = p.evacuateOne(context.Background(), "src", placement{vm: vm("bad", messages.PowerState_POWER_STATE_PAUSED),
		to: "b"})
	require.Equal(t, "", ev.GetTo(), "it stays")
	require.Equal(t, "src", ev.GetFrom())
	require.Equal(t, "unavailable", ev.GetError().GetKind())
	require.Contains(t, ev.GetError().GetMessage(), "out of memory")
	ev = p.evacuateOne(context.Background(), "src", placement{vm: vm("susp", messages.PowerState_POWER_STATE_SUSPENDED),
		to: "b"})
	require.NotNil(t, ev.GetError(), "a Suspended VM stays")
	require.Equal(t, []string{"src good a", "src bad b"}, calls)
}

// An evacuated VM whose migration fails for a reason of its target's is
// tried on the next host that had room, and only those; a failure of the
// VM's own stops there.
func TestEvacuateOne_TriesTheNextHost(t *testing.T) {
	hosts := []*messages.PoolHost{
		{Name: "src", Up: true, MemoryFreeKib: 1 << 30},
		{Name: "a", Up: true, MemoryFreeKib: 1000},
		{Name: "b", Up: true, MemoryFreeKib: 800},
		{Name: "c", Up: true, MemoryFreeKib: 900},
		{Name: "d", Up: true, MemoryFreeKib: 850},
		{Name: "tiny", Up: true, MemoryFreeKib: 10},
	}
	running := func(uuid string) *messages.VMSummary {
		return &messages.VMSummary{Spec: &messages.VMSpec{Uuid: uuid, Name: uuid, MemoryKib: 500},
			PowerState: messages.PowerState_POWER_STATE_RUNNING}
	}
	pls := plan(hosts, "src", []*messages.VMSummary{running("x")})
	require.Equal(t, "a", pls[0].to)
	require.Equal(t, []string{"c", "d"}, pls[0].also, "by free memory, at most 3 hosts in all, none too small")

	var calls []string
	fails := map[string]error{
		"a": fmt.Errorf("%w: a is out of memory", errdefs.ErrResourceExhausted),
		"c": fmt.Errorf("%w: c does not answer", errdefs.ErrUnavailable),
	}
	p := &Pool{cfg: Config{Migrate: func(_ context.Context, source, uuid, target string) error {
		calls = append(calls, uuid+">"+target)
		if uuid == "stuck" {
			return fmt.Errorf("%w: the VM is busy", errdefs.ErrBusy)
		}
		return fails[target]
	}}}
	ev := p.evacuateOne(context.Background(), "src", pls[0])
	require.Nil(t, ev.GetError())
	require.Equal(t, "d", ev.GetTo())
	require.Equal(t, []string{"x>a", "x>c", "x>d"}, calls)

	calls = nil
	fails["d"] = fmt.Errorf("%w: d timed out", errdefs.ErrTimeout)
	ev = p.evacuateOne(context.Background(), "src", pls[0])
	require.Equal(t, "", ev.GetTo(), "it stays")
	require.Equal(t, "timeout", ev.GetError().GetKind(), "the last try's kind")
	require.Contains(t, ev.GetError().GetMessage(), "a is out of memory")
	require.Contains(t, ev.GetError().GetMessage(), "d timed out")
	require.Len(t, calls, 3)

	calls = nil
	ev = p.evacuateOne(context.Background(), "src", placement{vm: running("stuck"), to: "a", also: []string{"c"}})
	require.Equal(t, "busy", ev.GetError().GetKind())
	require.Equal(t, []string{"stuck>a"}, calls, "the VM's own failure is not retried elsewhere")
}
