package sim

import (
	"strings"
	"time"
)

// Profile is how a simulated guest behaves.
type Profile struct {
	Name string
	// PVDrivers: the kernel has PV frontends and handles control/shutdown.
	// Without them (an HVM guest with no tools) the guest never touches
	// xenstore, and the toolstack must shut it down through the hypervisor.
	PVDrivers bool
	// Agent is the guest agent's flavour: "", "linux" or "windows".
	Agent string
	// AgentInterval is how often the agent reports; 0 means 60 s.
	AgentInterval time.Duration
	// NeverAck: the kernel sees control/shutdown but never acknowledges it.
	NeverAck bool
	// Junk: the guest writes junk all over the places it can reach, and
	// tries the places it cannot.
	Junk bool
	// FillQuota: the guest creates nodes, watches and transactions until
	// xenstore refuses.
	FillQuota bool
	// FlapFrontends: the guest keeps rewriting its frontend states.
	FlapFrontends bool
	// CrashAfter: the guest crashes this long after it starts; 0 never.
	CrashAfter time.Duration
}

// The built-in profiles.
var (
	LinuxPV        = Profile{Name: "linux", PVDrivers: true, Agent: "linux"}
	WindowsPV      = Profile{Name: "windows", PVDrivers: true, Agent: "windows"}
	LinuxPVNoAgent = Profile{Name: "linux-noagent", PVDrivers: true} // a real agent may report instead
	HVMNoPV        = Profile{Name: "hvm-nopv"}
	HostileJunk    = Profile{Name: "hostile-junk", PVDrivers: true, Agent: "linux", Junk: true}
	HostileQuota   = Profile{Name: "hostile-quota", PVDrivers: true, FillQuota: true}
	HostileNoAck   = Profile{Name: "hostile-noack", PVDrivers: true, Agent: "linux", NeverAck: true}
	HostileFlapper = Profile{Name: "hostile-flapper", PVDrivers: true, FlapFrontends: true}
)

// Profiles lists the built-in profiles by name.
var Profiles = map[string]Profile{}

func init() {
	for _, p := range []Profile{LinuxPV, WindowsPV, LinuxPVNoAgent, HVMNoPV, HostileJunk, HostileQuota, HostileNoAck,
		HostileFlapper} {
		Profiles[p.Name] = p
	}
}

// ProfileForImage picks the profile a guest boots into from its kernel or
// firmware image name, the way the real guest's behaviour comes from its
// disk: an image named "sim:<profile>[,crash=<duration>][,agent=<interval>]"
// selects a built-in profile; anything else is a Linux PV guest.
func ProfileForImage(image string) Profile {
	rest, ok := strings.CutPrefix(image, "sim:")
	if !ok {
		return LinuxPV
	}
	parts := strings.Split(rest, ",")
	p, ok := Profiles[parts[0]]
	if !ok {
		p = LinuxPV
	}
	for _, opt := range parts[1:] {
		k, v, _ := strings.Cut(opt, "=")
		d, err := time.ParseDuration(v)
		if err != nil {
			continue
		}
		switch k {
		case "crash":
			p.CrashAfter = d
		case "agent":
			p.AgentInterval = d
		}
	}
	return p
}
