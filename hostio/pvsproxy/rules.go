package pvsproxy

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/xenactor/xenactor/hostio/ovs"
)

// The priorities of the rules, the reference's.
const (
	rulePriority = 1000
	pathPriority = rulePriority - 1
)

// cookiePrefix marks the rules' cookies as pvsproxy's ("PV" in the top
// bits).
const cookiePrefix = uint64(0x5056) << 48

// Cookie is the cookie of the rules of VIF devid of domid.
func Cookie(domid uint32, devid int) uint64 {
	return cookiePrefix | uint64(domid)<<16 | uint64(devid&0xffff)
}

// Rules returns the OpenFlow rules of a VIF with PVS settings s: port is
// the VIF's switch port, mac the guest's MAC. For each address of each
// server:
//
//   - a packet from the VIF with the server's source address is dropped
//     (a guest may not pose as a PVS server);
//   - UDP from the guest (dl_src=mac) to the server's ports goes to the
//     proxy's port, which answers from its cache or forwards;
//   - UDP from the server's ports to the guest (dl_dst=mac) goes to the
//     proxy too, which caches it and passes it on.
//
// The proxy's own packets to the guest take the bridge's normal path.
// The reference sorts the traffic with registers through two more tables
// (per port, then per direction); these rules match the same packets
// directly in table 0.
func Rules(port, mac string, s Settings, cookie uint64) ([]ovs.Flow, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := ovs.ValidateName("VIF port", port); err != nil {
		return nil, err
	}
	out := "output:" + s.Interface
	var flows []ovs.Flow
	for _, srv := range s.Servers {
		for _, a := range srv.Addresses {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				return nil, fmt.Errorf("pvs: %q: %w", a, err)
			}
			ip, udp, src, dst := "ip", "udp", "nw_src=", "nw_dst="
			if addr.Is6() && !addr.Is4In6() {
				ip, udp, src, dst = "ipv6", "udp6", "ipv6_src=", "ipv6_dst="
			}
			a := addr.Unmap().String()
			flows = append(flows, ovs.Flow{Cookie: cookie, Priority: rulePriority,
				Match: "in_port=" + port + "," + ip + "," + src + a, Actions: "drop"})
			for p := srv.FirstPort; p <= srv.LastPort; p++ {
				ps := strconv.Itoa(p)
				flows = append(flows,
					ovs.Flow{Cookie: cookie, Priority: pathPriority,
						Match: udp + ",dl_src=" + mac + "," + dst + a + ",tp_dst=" + ps, Actions: out},
					ovs.Flow{Cookie: cookie, Priority: pathPriority,
						Match: udp + ",dl_dst=" + mac + "," + src + a + ",tp_src=" + ps, Actions: out})
			}
		}
	}
	return flows, nil
}

// PortName is the switch port of VIF devid of domid: netback's interface
// vif<domid>.<devid>.
func PortName(domid uint32, devid int) string {
	return "vif" + strconv.FormatUint(uint64(domid), 10) + "." + strconv.Itoa(devid)
}
