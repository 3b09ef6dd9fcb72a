package pvsproxy_test

import (
	"fmt"

	"github.com/xenactor/xenactor/hostio/pvsproxy"
)

// The rules that steer the PVS traffic of VIF 0 of domain 5 to the proxy.
func ExampleRules() {
	s := pvsproxy.Settings{Site: "6a1c9a0e-8d1b-4f3a-9a55-0c7d7f3e2b10", Interface: "pvs0",
		Servers: []pvsproxy.Server{{Addresses: []string{"10.0.0.5"}, FirstPort: 6910, LastPort: 6910}}}
	flows, err := pvsproxy.Rules(pvsproxy.PortName(5, 0), "00:16:3e:00:05:00", s, pvsproxy.Cookie(5, 0))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range flows {
		fmt.Println(f)
	}
	// Output:
	// cookie=0x5056000000050000,table=0,priority=1000,in_port=vif5.0,ip,nw_src=10.0.0.5,actions=drop
	// cookie=0x5056000000050000,table=0,priority=999,udp,dl_src=00:16:3e:00:05:00,nw_dst=10.0.0.5,tp_dst=6910,actions=output:pvs0
	// cookie=0x5056000000050000,table=0,priority=999,udp,dl_dst=00:16:3e:00:05:00,nw_src=10.0.0.5,tp_src=6910,actions=output:pvs0
}
