package vm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/pvsproxy"
)

func pvsSpec() vm.Spec {
	spec := newSpec("sim:linux")
	spec.VIFs[0].PVS = &vm.PVSProxy{Site: "6a1c9a0e-8d1b-4f3a-9a55-0c7d7f3e2b10", Interface: "pvs0",
		Servers: []vm.PVSServer{{Addresses: []string{"10.0.0.5"}, FirstPort: 6910, LastPort: 6911}}}
	return spec
}

func TestVMActor_PVS_KeysAndRulesFollowTheVIF(t *testing.T) {
	e := newEnv(t)
	sw, ok := e.h.Switch().(ovs.FlowSwitch)
	require.True(t, ok, "the simulated host's switch takes flows")
	spec := pvsSpec()
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.PVSSwitch = sw })
	ctx := ctxFor(t)
	domid := startRunning(t, e, c)

	priv := "/xapi/" + domid.String() + "/private/vif/0"
	s, err := pvsproxy.Read(ctx, e.xs, priv)
	require.NoError(t, err)
	require.Equal(t, pvsproxy.Settings{Site: spec.VIFs[0].PVS.Site, Interface: "pvs0",
		Servers: []pvsproxy.Server{{Addresses: []string{"10.0.0.5"}, FirstPort: 6910, LastPort: 6911}}}, s)
	for key, want := range map[string]string{"mac": spec.VIFs[0].MAC, "bridge": "xenbr0", "pvs-rules-active": ""} {
		v, err := e.xs.Read(ctx, priv+"/"+key)
		require.NoError(t, err, key)
		require.Equal(t, want, string(v), key)
	}

	cookie := pvsproxy.Cookie(uint32(domid), 0)
	flows, err := sw.Flows(ctx, "xenbr0", cookie)
	require.NoError(t, err)
	require.Len(t, flows, 1+2*2, "a drop, and two paths for each of the two ports")
	var all []string
	for _, f := range flows {
		all = append(all, f.String())
	}
	joined := strings.Join(all, "\n")
	require.Contains(t, joined, "in_port=vif"+domid.String()+".0,ip,nw_src=10.0.0.5,actions=drop")
	require.Contains(t, joined, "dl_src="+spec.VIFs[0].MAC+",nw_dst=10.0.0.5,tp_dst=6911,actions=output:pvs0")

	id, err := c.Shutdown(ctx, true)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
	flows, err = sw.Flows(ctx, "xenbr0", cookie)
	require.NoError(t, err)
	require.Empty(t, flows, "the rules go with the VIF")
	ok, err = e.xs.Exists(ctx, "/xapi/"+domid.String())
	require.NoError(t, err)
	require.False(t, ok)
}

func TestVMActor_PVS_NeedsASwitch(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, pvsSpec(), nil)
	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "not_implemented", task.ErrorKind, task.Error)
	require.Contains(t, task.Error, "PVSSwitch")
	e.requireNothingLeft(t)
}

func TestVMActor_PVS_InvalidSettings(t *testing.T) {
	e := newEnv(t)
	spec := pvsSpec()
	spec.VIFs[0].PVS.Servers[0].Addresses = []string{"pvs.example"}
	sw := e.h.Switch().(ovs.FlowSwitch)
	c := e.spawnVM(t, spec, func(cfg *vm.Config) { cfg.PVSSwitch = sw })
	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "invalid", task.ErrorKind, task.Error)
	require.Contains(t, task.Error, "pvs.example")
	e.requireNothingLeft(t)
}
