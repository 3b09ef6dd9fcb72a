package guest

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// parse turns the leaves read (paths relative to the home) into metrics.
// Numbers and addresses that do not parse are ignored.
func parse(kv map[string]string, q Quota) GuestMetrics {
	var m GuestMetrics
	m.OS = OS{
		Name:   strings.TrimSpace(strings.SplitN(kv["data/os_name"], "|", 2)[0]),
		Uname:  kv["data/os_uname"],
		Distro: kv["data/os_distro"],
		Major:  atoi(kv["data/os_majorver"]),
		Minor:  atoi(kv["data/os_minorver"]),
	}
	m.PVDrivers = parsePV(kv)
	m.Features = Features{
		Poweroff: flag(kv["control/feature-poweroff"]),
		Reboot:   flag(kv["control/feature-reboot"]),
		Suspend:  flag(kv["control/feature-suspend"]),
		Balloon:  flag(kv["control/feature-balloon"]),
	}
	m.Memory = Memory{
		TotalKiB:  atou(kv["data/meminfo_total"]),
		FreeKiB:   atou(kv["data/meminfo_free"]),
		TargetKiB: atou(kv["memory/target"]),
	}
	m.Networks = parseNetworks(kv)
	m.Volumes = parseVolumes(kv)
	m.Other, m.Dropped = parseOther(kv, q.MaxOther)
	m.Truncated = len(m.Dropped) > 0
	return m
}

func parsePV(kv map[string]string) PVDrivers {
	p := PVDrivers{
		Installed: flag(kv["attr/PVAddons/Installed"]),
		Major:     atoi(kv["attr/PVAddons/MajorVersion"]),
		Minor:     atoi(kv["attr/PVAddons/MinorVersion"]),
		Micro:     atoi(kv["attr/PVAddons/MicroVersion"]),
		Build:     atoi(kv["attr/PVAddons/BuildVersion"]),
	}
	if p.Major == 0 && p.Minor == 0 && p.Micro == 0 && p.Build == 0 {
		p.Major = atoi(kv["data/pv-drivers-version/major"])
		p.Minor = atoi(kv["data/pv-drivers-version/minor"])
		p.Micro = atoi(kv["data/pv-drivers-version/micro"])
		p.Build = atoi(kv["data/pv-drivers-version/build"])
		if p.Major != 0 || p.Minor != 0 || p.Micro != 0 || p.Build != 0 {
			p.Installed = true
		}
	}
	return p
}

// indexed is a value found under a numbered key, to sort by that number.
type indexed struct {
	n int
	v string
}

func sortedValues(xs []indexed) []string {
	slices.SortFunc(xs, func(a, b indexed) int { return a.n - b.n })
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.v)
	}
	return out
}

// parseNetworks reads attr/vif/<devid>/ipv4|ipv6/<n> and the older
// attr/eth<devid>/ip.
func parseNetworks(kv map[string]string) map[int]Network {
	v4 := map[int][]indexed{}
	v6 := map[int][]indexed{}
	add := func(devid, n int, s string) {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || devid < 0 {
			return
		}
		if a.Is4() {
			v4[devid] = append(v4[devid], indexed{n, a.String()})
		} else {
			v6[devid] = append(v6[devid], indexed{n, a.String()})
		}
	}
	for k, v := range kv {
		parts := strings.Split(k, "/")
		switch {
		case len(parts) == 5 && parts[0] == "attr" && parts[1] == "vif" && (parts[3] == "ipv4" || parts[3] == "ipv6"):
			devid, err1 := strconv.Atoi(parts[2])
			n, err2 := strconv.Atoi(parts[4])
			if err1 == nil && err2 == nil {
				add(devid, n, v)
			}
		case len(parts) == 3 && parts[0] == "attr" && strings.HasPrefix(parts[1], "eth") && parts[2] == "ip":
			if devid, err := strconv.Atoi(strings.TrimPrefix(parts[1], "eth")); err == nil {
				add(devid, -1, v)
			}
		}
	}
	if len(v4) == 0 && len(v6) == 0 {
		return nil
	}
	nets := make(map[int]Network)
	for devid, xs := range v4 {
		n := nets[devid]
		n.IPv4 = dedup(sortedValues(xs))
		nets[devid] = n
	}
	for devid, xs := range v6 {
		n := nets[devid]
		n.IPv6 = dedup(sortedValues(xs))
		nets[devid] = n
	}
	return nets
}

func dedup(xs []string) []string {
	out := xs[:0]
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// parseVolumes reads data/volumes/<n>/{name,filesystem,size,free,mount_points/<k>}.
func parseVolumes(kv map[string]string) map[int]Volume {
	vols := map[int]Volume{}
	mounts := map[int][]indexed{}
	for k, v := range kv {
		rest, ok := strings.CutPrefix(k, "data/volumes/")
		if !ok {
			continue
		}
		parts := strings.Split(rest, "/")
		n, err := strconv.Atoi(parts[0])
		if err != nil || n < 0 || len(parts) < 2 {
			continue
		}
		vol := vols[n]
		switch {
		case len(parts) == 2 && parts[1] == "name":
			vol.Name = v
		case len(parts) == 2 && parts[1] == "filesystem":
			vol.FileSystem = v
		case len(parts) == 2 && parts[1] == "size":
			vol.SizeBytes = atou(v)
		case len(parts) == 2 && parts[1] == "free":
			vol.FreeBytes = atou(v)
		case len(parts) == 3 && parts[1] == "mount_points":
			if i, err := strconv.Atoi(parts[2]); err == nil {
				mounts[n] = append(mounts[n], indexed{i, v})
			}
		}
		vols[n] = vol
	}
	for n, xs := range mounts {
		vol := vols[n]
		vol.MountPoints = sortedValues(xs)
		vols[n] = vol
	}
	if len(vols) == 0 {
		return nil
	}
	return vols
}

// known reports whether the data/ key k is parsed into a field of its own.
func known(k string) bool {
	switch k {
	case "data/os_name", "data/os_uname", "data/os_distro", "data/os_majorver", "data/os_minorver",
		"data/meminfo_total", "data/meminfo_free":
		return true
	}
	return strings.HasPrefix(k, "data/volumes/") || strings.HasPrefix(k, "data/pv-drivers-version/")
}

// parseOther returns the data/ keys not parsed elsewhere, the first maxOther
// in path order, and a note when some were left out.
func parseOther(kv map[string]string, maxOther int) (map[string]string, []string) {
	var keys []string
	for k := range kv {
		if strings.HasPrefix(k, "data/") && !known(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.Sort(keys)
	var notes []string
	if len(keys) > maxOther {
		notes = append(notes, "data: "+strconv.Itoa(len(keys)-maxOther)+" other keys over the cap of "+strconv.Itoa(maxOther))
		keys = keys[:maxOther]
	}
	other := make(map[string]string, len(keys))
	for _, k := range keys {
		other[k] = kv[k]
	}
	return other, notes
}

func flag(s string) bool { return strings.TrimSpace(s) == "1" }

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func atou(s string) uint64 {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }
