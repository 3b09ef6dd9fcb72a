package ovs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/ovs/ovstest"
	"github.com/xenactor/xenactor/internal/testenv"
)

func TestSim_Flows(t *testing.T) {
	ovstest.RunFlows(t, func(t *testing.T) ovs.FlowSwitch { return ovs.NewSim() })
}

func TestVsctl_Flows(t *testing.T) {
	testenv.RequireExternal(t, "ovs-ofctl")
	sw := ovstest.Start(t).Switch()
	ovstest.RunFlows(t, func(t *testing.T) ovs.FlowSwitch { return sw })
}

func TestFlow_String(t *testing.T) {
	f := ovs.Flow{Cookie: 0x10, Table: 101, Priority: 1000, Match: "udp,tp_dst=6910", Actions: "output:pvs0"}
	require.Equal(t, "cookie=0x10,table=101,priority=1000,udp,tp_dst=6910,actions=output:pvs0", f.String())
	require.Equal(t, "cookie=0x0,table=0,priority=0,actions=drop", ovs.Flow{Actions: "drop"}.String())
}
