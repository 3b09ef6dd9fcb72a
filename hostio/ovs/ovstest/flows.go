package ovstest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// RunFlows runs the conformance suite of the flow methods; newSwitch
// returns the switch for one subtest, as for Run.
func RunFlows(t *testing.T, newSwitch func(t *testing.T) ovs.FlowSwitch) {
	t.Run("AddListDelete", func(t *testing.T) {
		sw := newSwitch(t)
		h := &harness{t: t, sw: sw, suffix: "f0"}
		br := h.bridge("fbr")
		vif, proxy := h.name("vif1.0"), h.name("pvs")
		require.NoError(t, sw.AddPort(h.ctx(), br, vif, nil))
		require.NoError(t, sw.AddPort(h.ctx(), br, proxy, nil))
		mine, other := uint64(0x5056000100000000), uint64(7)
		flows := []ovs.Flow{
			{Cookie: mine, Priority: 1000, Match: "in_port=" + vif + ",ip,nw_src=10.0.0.5", Actions: "drop"},
			{Cookie: mine, Priority: 999, Match: "udp,dl_src=00:16:3e:00:00:01,nw_dst=10.0.0.5,tp_dst=6910",
				Actions: "output:" + proxy},
			{Cookie: mine, Table: 101, Priority: 0, Actions: "NORMAL"},
		}
		require.NoError(t, sw.AddFlows(h.ctx(), br, flows))
		require.NoError(t, sw.AddFlows(h.ctx(), br, []ovs.Flow{{Cookie: other, Priority: 5, Match: "arp",
			Actions: "NORMAL"}}))
		got, err := sw.Flows(h.ctx(), br, mine)
		require.NoError(t, err)
		require.Len(t, got, 3)
		joined := fmt.Sprint(got)
		for _, want := range []string{"nw_src=10.0.0.5", "tp_dst=6910", "drop", "NORMAL"} {
			require.Contains(t, joined, want)
		}
		for _, f := range got {
			require.Equal(t, mine, f.Cookie)
			if strings.Contains(f.Match, "tp_dst=6910") {
				require.Equal(t, 999, f.Priority)
				require.Contains(t, f.Actions, "output:", "to the proxy's port")
			}
		}
		// Adding the same flows again changes nothing.
		require.NoError(t, sw.AddFlows(h.ctx(), br, flows))
		got, err = sw.Flows(h.ctx(), br, mine)
		require.NoError(t, err)
		require.Len(t, got, 3)

		require.NoError(t, sw.DelFlows(h.ctx(), br, mine))
		got, err = sw.Flows(h.ctx(), br, mine)
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = sw.Flows(h.ctx(), br, other)
		require.NoError(t, err)
		require.Len(t, got, 1, "another owner's flows stay")
		require.NoError(t, sw.DelFlows(h.ctx(), br, mine), "deleting none is fine")
	})
	t.Run("Errors", func(t *testing.T) {
		sw := newSwitch(t)
		h := &harness{t: t, sw: sw, suffix: "f1"}
		br := h.bridge("fbr")
		ok := ovs.Flow{Cookie: 1, Priority: 1, Actions: "NORMAL"}
		require.ErrorIs(t, sw.AddFlows(h.ctx(), h.name("nobr"), []ovs.Flow{ok}), errdefs.ErrNotFound)
		require.ErrorIs(t, sw.DelFlows(h.ctx(), h.name("nobr"), 1), errdefs.ErrNotFound)
		_, err := sw.Flows(h.ctx(), h.name("nobr"), 1)
		require.ErrorIs(t, err, errdefs.ErrNotFound)
		for _, bad := range []ovs.Flow{
			{Priority: 1, Match: "udp nw_dst=1.2.3.4", Actions: "drop"},
			{Priority: 1, Match: "udp", Actions: ""},
			{Priority: 70000, Actions: "drop"},
			{Table: 255, Actions: "drop"},
			{Match: "udp\nactions=drop", Actions: "drop"},
		} {
			require.ErrorIs(t, sw.AddFlows(h.ctx(), br, []ovs.Flow{ok, bad}), errdefs.ErrInvalid, "%v", bad)
		}
		got, err := sw.Flows(h.ctx(), br, 1)
		require.NoError(t, err)
		require.Empty(t, got, "all or none")
		ctx, cancel := context.WithCancel(h.ctx())
		cancel()
		require.Error(t, sw.AddFlows(ctx, br, []ovs.Flow{ok}))
	})
}
