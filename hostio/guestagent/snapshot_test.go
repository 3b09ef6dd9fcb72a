package guestagent_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/guestagent"
)

func TestKeys(t *testing.T) {
	s := guestagent.Snapshot{
		Hostname:     "vm1",
		OS:           guestagent.OS{Name: "Debian GNU/Linux 12 (bookworm)", Distro: "debian", Major: "12", Uname: "6.1.0"},
		Memory:       guestagent.Memory{TotalKiB: 1024, FreeKiB: 512},
		Balloon:      true,
		PVDrivers:    guestagent.Version{Major: 1, Build: 3},
		AgentVersion: map[string]string{"kernel": "6.1", "empty": ""},
		VIFs:         map[int]guestagent.VIF{2: {IPv4: []string{"10.0.0.2"}, IPv6: []string{"fd00::2", "fd00::3"}}},
		Volumes:      []guestagent.Volume{{Name: "/dev/xvda1", SizeBytes: 100, FreeBytes: 40, MountPoints: []string{"/"}}},
		Interfaces:   []guestagent.Interface{{Name: "eth0", MAC: "00:16:3e:00:00:01"}},
	}
	require.Equal(t, map[string]string{
		"attr/os/hostname":                "vm1",
		"data/os_name":                    "Debian GNU/Linux 12 (bookworm)",
		"data/os_distro":                  "debian",
		"data/os_majorver":                "12",
		"data/os_uname":                   "6.1.0",
		"data/meminfo_total":              "1024",
		"data/meminfo_free":               "512",
		"control/feature-balloon":         "1",
		"attr/PVAddons/Installed":         "1",
		"attr/PVAddons/MajorVersion":      "1",
		"attr/PVAddons/MinorVersion":      "0",
		"attr/PVAddons/MicroVersion":      "0",
		"attr/PVAddons/BuildVersion":      "3",
		"data/pv-drivers-version/major":   "1",
		"data/pv-drivers-version/minor":   "0",
		"data/pv-drivers-version/micro":   "0",
		"data/pv-drivers-version/build":   "3",
		"data/guest-agent-version/kernel": "6.1",
		"attr/vif/2/ipv4/0":               "10.0.0.2",
		"attr/vif/2/ipv6/0":               "fd00::2",
		"attr/vif/2/ipv6/1":               "fd00::3",
		"data/volumes/0/name":             "/dev/xvda1",
		"data/volumes/0/size":             "100",
		"data/volumes/0/free":             "40",
		"data/volumes/0/mount_points/0":   "/",
	}, guestagent.Keys(s))
	require.Empty(t, guestagent.Keys(guestagent.Snapshot{}))
}

func TestMatchVIFs(t *testing.T) {
	ifaces := []guestagent.Interface{
		{Name: "eth0", MAC: "00:16:3e:00:00:01", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2"),
			netip.MustParseAddr("fe80::216:3eff:fe00:1"), netip.MustParseAddr("2001:db8::2"),
			netip.MustParseAddr("::ffff:10.0.0.3")}},
		{Name: "eth1", MAC: "00:16:3e:00:00:02"}, // no address yet
		{Name: "eth2", MAC: "00:16:3e:00:00:03", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.5")}},
	}
	macs := map[int]string{0: "00:16:3E:00:00:01", 1: "00:16:3e:00:00:02", 5: "00:16:3e:00:00:09"}
	require.Equal(t, map[int]guestagent.VIF{
		0: {IPv4: []string{"10.0.0.2", "10.0.0.3"}, IPv6: []string{"2001:db8::2"}},
	}, guestagent.MatchVIFs(macs, ifaces))
}

func TestDiff(t *testing.T) {
	changed, gone := guestagent.Diff(map[string]string{"a": "1", "b": "2", "c": "3"},
		map[string]string{"a": "1", "b": "x", "d": "4"})
	require.Equal(t, map[string]string{"b": "x", "d": "4"}, changed)
	require.Equal(t, []string{"c"}, gone)
}
