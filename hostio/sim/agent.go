package sim

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// startAgent starts the guest agent (XenServer's xe-daemon): it reports at
// once, and then every interval. A resumed agent (its kernel restored from
// a saved image, here or on another host) still holds in its memory what it
// wrote before, so it writes only what changed, unless it notices the move.
// An agent that never saw a unique-domain-id (a toolstack that writes none)
// cannot tell, and resumes with nothing cached.
func (g *guest) startAgent(ctx context.Context) {
	if g.agent.resumed && g.agent.lastUID != "" {
		g.agentLog = g.agentKeys(ctx)
	}
	g.every(0, g.report)
}

// report is one round of the guest agent: OS information, PV driver
// version, memory, the addresses of each VIF, written in one transaction,
// with data/updated when anything changed. As xe-daemon, the agent writes
// only what changed since its last round, and it reads unique-domain-id
// first: a different one than it last saw means the domain was resumed or
// migrated (its xenstore home is new), so it forgets what it wrote and
// publishes everything at once. It remembers the new id in the domain's
// memory.
func (g *guest) report() {
	ctx, cancel := g.ctx()
	defer cancel()
	g.agentMu.Lock()
	defer g.agentMu.Unlock()
	if uid, err := g.xs.Read(ctx, "unique-domain-id"); err == nil && string(uid) != g.agent.lastUID {
		g.agent.lastUID = string(uid)
		g.agentLog = nil
		if g.hooks.remember != nil {
			g.hooks.remember(string(uid))
		}
	}
	keys := g.agentKeys(ctx)
	changed := make(map[string]string)
	for k, v := range keys {
		if old, ok := g.agentLog[k]; !ok || old != v {
			changed[k] = v
		}
	}
	if len(changed) == 0 {
		return
	}
	changed["data/updated"] = "1"
	err := g.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		for k, v := range changed {
			if err := tx.Write(ctx, k, []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		g.ignore(err)
		return
	}
	g.agentLog = keys
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
