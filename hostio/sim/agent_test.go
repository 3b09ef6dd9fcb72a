package sim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/xenbus"
)

// TestGuest_AgentKeys pins what the simulated agent writes: the toolstack
// (and every test on a simulated host) reads these keys.
func TestGuest_AgentKeys(t *testing.T) {
	linux := map[string]string{
		"data/meminfo_total":              "1048576",
		"data/meminfo_free":               "629145",
		"control/feature-balloon":         "1",
		"attr/PVAddons/Installed":         "1",
		"attr/PVAddons/MajorVersion":      "9",
		"attr/PVAddons/MinorVersion":      "4",
		"attr/PVAddons/MicroVersion":      "0",
		"attr/PVAddons/BuildVersion":      "137",
		"data/volumes/0/name":             "/dev/xvda1",
		"data/volumes/0/size":             "10737418240",
		"data/volumes/0/mount_points/0":   "/",
		"data/volumes/0/filesystem":       "ext4",
		"data/volumes/0/free":             "7516192768",
		"data/volumes/0/extents/0":        "xvda",
		"attr/os/hostname":                "guest13",
		"data/os_uname":                   "6.1.0-13-amd64",
		"data/os_distro":                  "debian",
		"data/os_majorver":                "12",
		"data/os_minorver":                "2",
		"data/os_name":                    "Debian GNU/Linux 12 (bookworm)",
		"data/pv-drivers-version/major":   "9",
		"data/pv-drivers-version/minor":   "4",
		"data/pv-drivers-version/micro":   "0",
		"data/pv-drivers-version/build":   "137",
		"data/guest-agent-version/kernel": "6.1",
		"attr/vif/0/ipv4/0":               "10.0.13.2",
		"attr/vif/0/ipv6/0":               "fd00::d:2",
	}
	windows := make(map[string]string)
	for k, v := range linux {
		windows[k] = v
	}
	delete(windows, "data/volumes/0/filesystem")
	windows["data/os_name"] = "Microsoft Windows Server 2022 Datacenter|C:\\Windows|\\Device\\Harddisk0\\Partition2"
	windows["data/os_distro"] = "windows"
	windows["data/os_uname"] = "10.0.20348"
	windows["data/os_majorver"] = "10"
	windows["data/os_minorver"] = "0"
	windows["data/volumes/0/name"] = "C:"
	windows["data/volumes/0/mount_points/0"] = "C:\\"

	for _, tc := range []struct {
		p    Profile
		want map[string]string
	}{{LinuxPV, linux}, {WindowsPV, windows}} {
		t.Run(tc.p.Name, func(t *testing.T) {
			r := newRig(t)
			g := r.boot(t, 13, tc.p)
			require.NoError(t, r.plug(t, DeviceKey{VIF, 13, 0}))
			r.waitState(t, DeviceKey{VIF, 13, 0}.FrontendPath(), xenbus.StateConnected)
			require.Equal(t, tc.want, guestagent.Keys(g.snapshot(tctx(t))))
			g.report()
			for k, v := range tc.want {
				require.Equal(t, v, r.read(t, "/local/domain/13/"+k), k)
			}
		})
	}
}
