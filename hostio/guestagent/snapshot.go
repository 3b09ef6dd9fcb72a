package guestagent

import (
	"net/netip"
	"strconv"
)

// Snapshot is what an agent knows of its guest at one moment.
type Snapshot struct {
	// Hostname is attr/os/hostname.
	Hostname string
	// OS is data/os_*.
	OS OS
	// Memory is data/meminfo_*.
	Memory Memory
	// Balloon is control/feature-balloon: the guest's balloon driver
	// follows memory/target.
	Balloon bool
	// PVDrivers is the PV drivers' version, written as attr/PVAddons/* and
	// data/pv-drivers-version/*; the zero Version writes neither.
	PVDrivers Version
	// AgentVersion is data/guest-agent-version/<name>.
	AgentVersion map[string]string
	// VIFs are the addresses of each VIF, by device id: attr/vif/<devid>/.
	VIFs map[int]VIF
	// Volumes are data/volumes/<n>/, by index.
	Volumes []Volume
	// Interfaces are the guest's network interfaces, which MatchVIFs
	// turns into VIFs; they are not written themselves.
	Interfaces []Interface
}

// OS is the guest's operating system; empty fields are not written.
type OS struct {
	Name   string // data/os_name (PRETTY_NAME of os-release)
	Distro string // data/os_distro (ID of os-release)
	Major  string // data/os_majorver
	Minor  string // data/os_minorver
	Uname  string // data/os_uname (the kernel release)
}

// Memory is what the guest's kernel says of its memory, in KiB; zero
// totals are not written.
type Memory struct {
	TotalKiB uint64 // data/meminfo_total
	FreeKiB  uint64 // data/meminfo_free
}

// Version is a PV drivers or agent version.
type Version struct {
	Major, Minor, Micro, Build int
}

// VIF is the addresses the guest has on one VIF.
type VIF struct {
	IPv4 []string // attr/vif/<devid>/ipv4/<n>
	IPv6 []string // attr/vif/<devid>/ipv6/<n>
}

// Volume is one of the guest's file systems; zero fields are not written.
type Volume struct {
	Name        string   // data/volumes/<n>/name
	SizeBytes   uint64   // data/volumes/<n>/size
	FreeBytes   uint64   // data/volumes/<n>/free
	Filesystem  string   // data/volumes/<n>/filesystem
	MountPoints []string // data/volumes/<n>/mount_points/<k>
	Extents     []string // data/volumes/<n>/extents/<k>
}

// Interface is one of the guest's network interfaces.
type Interface struct {
	Name  string
	MAC   string // as net.HardwareAddr.String prints it
	Addrs []netip.Addr
}

// Keys returns the xenstore keys that report s, relative to the guest's
// home, with their values. data/updated is not among them: Reporter
// writes it with every change.
func Keys(s Snapshot) map[string]string {
	k := make(map[string]string)
	put := func(key, v string) {
		if v != "" {
			k[key] = v
		}
	}
	put("attr/os/hostname", s.Hostname)
	put("data/os_name", s.OS.Name)
	put("data/os_distro", s.OS.Distro)
	put("data/os_majorver", s.OS.Major)
	put("data/os_minorver", s.OS.Minor)
	put("data/os_uname", s.OS.Uname)
	if s.Memory.TotalKiB > 0 {
		k["data/meminfo_total"] = u64(s.Memory.TotalKiB)
		k["data/meminfo_free"] = u64(s.Memory.FreeKiB)
	}
	if s.Balloon {
		k["control/feature-balloon"] = "1"
	}
	if s.PVDrivers != (Version{}) {
		v := s.PVDrivers
		k["attr/PVAddons/Installed"] = "1"
		k["attr/PVAddons/MajorVersion"] = strconv.Itoa(v.Major)
		k["attr/PVAddons/MinorVersion"] = strconv.Itoa(v.Minor)
		k["attr/PVAddons/MicroVersion"] = strconv.Itoa(v.Micro)
		k["attr/PVAddons/BuildVersion"] = strconv.Itoa(v.Build)
		k["data/pv-drivers-version/major"] = strconv.Itoa(v.Major)
		k["data/pv-drivers-version/minor"] = strconv.Itoa(v.Minor)
		k["data/pv-drivers-version/micro"] = strconv.Itoa(v.Micro)
		k["data/pv-drivers-version/build"] = strconv.Itoa(v.Build)
	}
	for name, v := range s.AgentVersion {
		put("data/guest-agent-version/"+name, v)
	}
	for devid, vif := range s.VIFs {
		base := "attr/vif/" + strconv.Itoa(devid)
		for i, a := range vif.IPv4 {
			put(base+"/ipv4/"+strconv.Itoa(i), a)
		}
		for i, a := range vif.IPv6 {
			put(base+"/ipv6/"+strconv.Itoa(i), a)
		}
	}
	for i, v := range s.Volumes {
		base := "data/volumes/" + strconv.Itoa(i)
		put(base+"/name", v.Name)
		if v.SizeBytes > 0 {
			k[base+"/size"] = u64(v.SizeBytes)
			k[base+"/free"] = u64(v.FreeBytes)
		}
		put(base+"/filesystem", v.Filesystem)
		for j, m := range v.MountPoints {
			put(base+"/mount_points/"+strconv.Itoa(j), m)
		}
		for j, e := range v.Extents {
			put(base+"/extents/"+strconv.Itoa(j), e)
		}
	}
	return k
}

// MatchVIFs returns the addresses of the guest's interfaces by VIF: macs
// maps each VIF's device id to the MAC its frontend has (device/vif/<n>/mac),
// and the interface with that MAC reports for it. Link-local addresses are
// left out; a VIF without an interface, or without addresses, has none.
func MatchVIFs(macs map[int]string, ifaces []Interface) map[int]VIF {
	byMAC := make(map[string]Interface, len(ifaces))
	for _, i := range ifaces {
		if mac := normalMAC(i.MAC); mac != "" {
			byMAC[mac] = i
		}
	}
	vifs := make(map[int]VIF)
	for devid, mac := range macs {
		i, ok := byMAC[normalMAC(mac)]
		if !ok {
			continue
		}
		var v VIF
		for _, a := range i.Addrs {
			a = a.Unmap()
			switch {
			case !a.IsValid(), a.IsLinkLocalUnicast(), a.IsLoopback():
			case a.Is4():
				v.IPv4 = append(v.IPv4, a.String())
			default:
				v.IPv6 = append(v.IPv6, a.String())
			}
		}
		if len(v.IPv4)+len(v.IPv6) > 0 {
			vifs[devid] = v
		}
	}
	return vifs
}

// normalMAC returns mac in lower case, or "" if it is not one.
func normalMAC(mac string) string {
	b := []byte(mac)
	if len(b) != 17 {
		return ""
	}
	for i, c := range b {
		if 'A' <= c && c <= 'F' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Diff returns the keys of now that differ from (or are missing in) last,
// and the keys of last that now lacks.
func Diff(last, now map[string]string) (changed map[string]string, gone []string) {
	changed = make(map[string]string)
	for k, v := range now {
		if old, ok := last[k]; !ok || old != v {
			changed[k] = v
		}
	}
	for k := range last {
		if _, ok := now[k]; !ok {
			gone = append(gone, k)
		}
	}
	return changed, gone
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }
