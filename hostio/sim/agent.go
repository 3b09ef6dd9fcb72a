package sim

import (
	"context"
	"fmt"
	"strconv"

	"github.com/xenactor/xenactor/hostio/guestagent"
)

// startAgent starts the guest agent (XenServer's xe-daemon): it reports at
// once, and then every interval. A resumed agent (its kernel restored from
// a saved image, here or on another host) still holds in its memory what it
// wrote before, so it writes only what changed, unless it notices the move.
// An agent that never saw a unique-domain-id (a toolstack that writes none)
// cannot tell, and resumes with nothing cached.
func (g *guest) startAgent(ctx context.Context) {
	g.reporter = guestagent.NewReporter(g.agent.lastUID, g.hooks.remember)
	if g.agent.resumed && g.agent.lastUID != "" {
		g.reporter.Assume(guestagent.Keys(g.snapshot(ctx)))
	}
	g.every(0, g.report)
}

// report is one round of the guest agent (guestagent.Reporter): the
// synthetic snapshot's keys, written in one transaction with data/updated
// when anything changed, all of them again when unique-domain-id says the
// domain is new (resumed or migrated); the new id is remembered in the
// domain's memory.
func (g *guest) report() {
	ctx, cancel := g.ctx()
	defer cancel()
	g.agentMu.Lock()
	defer g.agentMu.Unlock()
	if _, err := g.reporter.Report(ctx, g.xs, guestagent.Keys(g.snapshot(ctx))); err != nil {
		g.ignore(err)
	}
}

// snapshot is the synthetic OS the simulated agent reports: its memory
// follows memory/target, and each VIF has addresses made of the domain id
// and the device id.
func (g *guest) snapshot(ctx context.Context) guestagent.Snapshot {
	total := uint64(1 << 20)
	if v, err := g.xs.Read(ctx, "memory/target"); err == nil {
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil && n > 0 {
			total = n
		}
	}
	s := guestagent.Snapshot{
		Hostname: fmt.Sprintf("guest%d", g.domid),
		OS: guestagent.OS{Name: "Debian GNU/Linux 12 (bookworm)", Distro: "debian", Major: "12", Minor: "2",
			Uname: "6.1.0-13-amd64"},
		Memory:       guestagent.Memory{TotalKiB: total, FreeKiB: total * 3 / 5},
		Balloon:      true,
		PVDrivers:    guestagent.Version{Major: 9, Minor: 4, Micro: 0, Build: 137},
		AgentVersion: map[string]string{"kernel": "6.1"},
		Volumes: []guestagent.Volume{{Name: "/dev/xvda1", SizeBytes: 10737418240, FreeBytes: 7516192768,
			Filesystem: "ext4", MountPoints: []string{"/"}, Extents: []string{"xvda"}}},
	}
	if g.p.Agent == "windows" {
		s.OS = guestagent.OS{Name: "Microsoft Windows Server 2022 Datacenter|C:\\Windows|\\Device\\Harddisk0\\Partition2",
			Distro: "windows", Major: "10", Minor: "0", Uname: "10.0.20348"}
		s.Volumes[0].Filesystem = ""
		s.Volumes[0].Name = "C:"
		s.Volumes[0].MountPoints = []string{"C:\\"}
	}
	if ids, err := g.xs.Directory(ctx, "device/vif"); err == nil {
		s.VIFs = make(map[int]guestagent.VIF)
		for _, id := range ids {
			n, err := strconv.Atoi(id)
			if err != nil {
				continue
			}
			s.VIFs[n] = guestagent.VIF{IPv4: []string{fmt.Sprintf("10.%d.%d.%d", g.domid>>8&0xff, g.domid&0xff, n+2)},
				IPv6: []string{fmt.Sprintf("fd00::%x:%x", g.domid, n+2)}}
		}
	}
	return s
}
