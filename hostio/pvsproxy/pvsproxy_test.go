package pvsproxy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs/ovstest"
	"github.com/xenactor/xenactor/hostio/pvsproxy"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

func settings() pvsproxy.Settings {
	return pvsproxy.Settings{Site: "6a1c9a0e-8d1b-4f3a-9a55-0c7d7f3e2b10", Interface: "pvs0",
		Servers: []pvsproxy.Server{
			{Addresses: []string{"10.0.0.5"}, FirstPort: 6910, LastPort: 6911},
			{Addresses: []string{"10.0.0.6", "fd00::6"}, FirstPort: 6910, LastPort: 6910},
		}}
}

func TestSettings_KeysRoundTrip(t *testing.T) {
	s := settings()
	require.Equal(t, [][2]string{{"pvs-site", s.Site}, {"pvs-interface", "pvs0"}, {"pvs-server-num", "2"},
		{"pvs-server-0-addresses", "10.0.0.5"}, {"pvs-server-0-ports", "6910-6911"},
		{"pvs-server-1-addresses", "10.0.0.6,fd00::6"}, {"pvs-server-1-ports", "6910-6910"}}, s.Keys())

	xs := simtest.Dom0(t, simtest.NewHost(t))
	ctx := t.Context()
	dir := "/xapi/5/private/vif/0"
	require.NoError(t, xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		for _, kv := range s.Keys() {
			if err := tx.Write(ctx, dir+"/"+kv[0], []byte(kv[1])); err != nil {
				return err
			}
		}
		return nil
	}))
	got, err := pvsproxy.Read(ctx, xs, dir)
	require.NoError(t, err)
	require.Equal(t, s, got)

	_, err = pvsproxy.Read(ctx, xs, "/xapi/5/private/vif/1")
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	require.NoError(t, xs.Write(ctx, dir+"/pvs-server-1-ports", []byte("6910")))
	_, err = pvsproxy.Read(ctx, xs, dir)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}

func TestSettings_Validate(t *testing.T) {
	for name, mutate := range map[string]func(*pvsproxy.Settings){
		"site":       func(s *pvsproxy.Settings) { s.Site = "site" },
		"interface":  func(s *pvsproxy.Settings) { s.Interface = "a proxy" },
		"no servers": func(s *pvsproxy.Settings) { s.Servers = nil },
		"address":    func(s *pvsproxy.Settings) { s.Servers[0].Addresses = []string{"pvs.example"} },
		"no address": func(s *pvsproxy.Settings) { s.Servers[0].Addresses = nil },
		"ports":      func(s *pvsproxy.Settings) { s.Servers[0].FirstPort = 7000 },
		"port 0":     func(s *pvsproxy.Settings) { s.Servers[0].FirstPort = 0 },
		"too many":   func(s *pvsproxy.Settings) { s.Servers[0].LastPort = 6910 + pvsproxy.MaxServerPorts },
	} {
		s := settings()
		mutate(&s)
		require.ErrorIs(t, s.Validate(), errdefs.ErrInvalid, name)
	}
	require.NoError(t, settings().Validate())
}

func TestRules(t *testing.T) {
	cookie := pvsproxy.Cookie(5, 1)
	require.Equal(t, uint64(0x5056000000050001), cookie)
	require.Equal(t, "vif5.1", pvsproxy.PortName(5, 1))
	flows, err := pvsproxy.Rules("vif5.1", "00:16:3e:00:05:01", settings(), cookie)
	require.NoError(t, err)
	// 3 addresses: a drop each; 2 ports of the first server, 1 port of the
	// others' two addresses: two paths each.
	require.Len(t, flows, 3+2*2+2*2)
	var all []string
	for _, f := range flows {
		require.Equal(t, cookie, f.Cookie)
		require.NoError(t, f.Validate())
		all = append(all, f.String())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"priority=1000,in_port=vif5.1,ip,nw_src=10.0.0.5,actions=drop",
		"priority=999,udp,dl_src=00:16:3e:00:05:01,nw_dst=10.0.0.5,tp_dst=6911,actions=output:pvs0",
		"priority=999,udp,dl_dst=00:16:3e:00:05:01,nw_src=10.0.0.5,tp_src=6910,actions=output:pvs0",
		"priority=1000,in_port=vif5.1,ipv6,ipv6_src=fd00::6,actions=drop",
		"priority=999,udp6,dl_src=00:16:3e:00:05:01,ipv6_dst=fd00::6,tp_dst=6910,actions=output:pvs0",
	} {
		require.Contains(t, joined, want)
	}
	bad := settings()
	bad.Site = ""
	_, err = pvsproxy.Rules("vif5.1", "00:16:3e:00:05:01", bad, cookie)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}

// The rules are what a real Open vSwitch takes.
func TestRules_RealSwitch(t *testing.T) {
	testenv.RequireExternal(t, "ovs-ofctl")
	sw := ovstest.Start(t).Switch()
	ctx := t.Context()
	require.NoError(t, sw.AddBridge(ctx, "xenbr0"))
	require.NoError(t, sw.AddPort(ctx, "xenbr0", "vif5.1", nil))
	require.NoError(t, sw.AddPort(ctx, "xenbr0", "pvs0", nil))
	cookie := pvsproxy.Cookie(5, 1)
	flows, err := pvsproxy.Rules("vif5.1", "00:16:3e:00:05:01", settings(), cookie)
	require.NoError(t, err)
	require.NoError(t, sw.AddFlows(ctx, "xenbr0", flows))
	got, err := sw.Flows(ctx, "xenbr0", cookie)
	require.NoError(t, err)
	require.Len(t, got, len(flows))
	require.NoError(t, sw.DelFlows(ctx, "xenbr0", cookie))
	got, err = sw.Flows(ctx, "xenbr0", cookie)
	require.NoError(t, err)
	require.Empty(t, got)
}
