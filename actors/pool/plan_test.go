package pool

import (
	"testing"

	"github.com/stretchr/testify/require"

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
