package sim

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// report is one round of the guest agent (XenServer's xe-daemon): OS
// information, PV driver version, memory, the addresses of each VIF, and
// data/updated, written in one transaction.
func (g *guest) report() {
	ctx, cancel := g.ctx()
	defer cancel()
	keys := g.agentKeys(ctx)
	err := g.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		for k, v := range keys {
			if err := tx.Write(ctx, k, []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	g.ignore(err)
}

func (g *guest) agentKeys(ctx context.Context) map[string]string {
	total := uint64(1 << 20)
	if v, err := g.xs.Read(ctx, "memory/target"); err == nil {
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil && n > 0 {
			total = n
		}
	}
	keys := map[string]string{
		"data/meminfo_total":              strconv.FormatUint(total, 10),
		"data/meminfo_free":               strconv.FormatUint(total*3/5, 10),
		"control/feature-balloon":         "1",
		"attr/PVAddons/Installed":         "1",
		"attr/PVAddons/MajorVersion":      "9",
		"attr/PVAddons/MinorVersion":      "4",
		"attr/PVAddons/MicroVersion":      "0",
		"attr/PVAddons/BuildVersion":      "137",
		"data/updated":                    "1",
		"data/volumes/0/name":             "/dev/xvda1",
		"data/volumes/0/size":             "10737418240",
		"data/volumes/0/mount_points/0":   "/",
		"data/volumes/0/filesystem":       "ext4",
		"data/volumes/0/free":             "7516192768",
		"data/volumes/0/extents/0":        "xvda",
		"attr/os/hostname":                fmt.Sprintf("guest%d", g.domid),
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
	}
	if g.p.Agent == "windows" {
		keys["data/os_name"] = "Microsoft Windows Server 2022 Datacenter|C:\\Windows|\\Device\\Harddisk0\\Partition2"
		keys["data/os_distro"] = "windows"
		keys["data/os_uname"] = "10.0.20348"
		keys["data/os_majorver"] = "10"
		keys["data/os_minorver"] = "0"
		delete(keys, "data/volumes/0/filesystem")
		keys["data/volumes/0/name"] = "C:"
		keys["data/volumes/0/mount_points/0"] = "C:\\"
	}
	if ids, err := g.xs.Directory(ctx, "device/vif"); err == nil {
		for _, id := range ids {
			n, err := strconv.Atoi(id)
			if err != nil {
				continue
			}
			keys["attr/vif/"+id+"/ipv4/0"] = fmt.Sprintf("10.%d.%d.%d", g.domid>>8&0xff, g.domid&0xff, n+2)
			keys["attr/vif/"+id+"/ipv6/0"] = fmt.Sprintf("fd00::%x:%x", g.domid, n+2)
		}
	}
	return keys
}
