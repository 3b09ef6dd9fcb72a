package guestagent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Source is where an agent learns about its guest.
type Source interface {
	// Snapshot returns what the guest knows of itself now, with its
	// network interfaces; the agent fills VIFs in (MatchVIFs).
	Snapshot(ctx context.Context) (Snapshot, error)
}

// SourceFunc is a function as a Source.
type SourceFunc func(ctx context.Context) (Snapshot, error)

// Snapshot implements Source.
func (f SourceFunc) Snapshot(ctx context.Context) (Snapshot, error) { return f(ctx) }

// Uname is what uname(2) tells.
type Uname struct {
	Sysname, Nodename, Release string
}

// Linux reads a Linux guest: /etc/os-release (or /usr/lib/os-release), the
// kernel's uname, /proc/meminfo, the Xen balloon driver's presence, the file
// systems on block devices (/proc/self/mounts, statfs), and the network
// interfaces. What is missing (a busybox initramfs has no
// os-release) is left out, and the kernel's name stands for the OS's.
type Linux struct {
	// Root prefixes the files read; "" is "/".
	Root string
	// Uname returns the kernel's identity; nil calls uname(2).
	Uname func() (Uname, error)
	// Interfaces lists the network interfaces; nil asks the kernel
	// (net.Interfaces).
	Interfaces func() ([]Interface, error)
	// Statfs returns the size of the file system mounted at path and the
	// bytes free on it; nil calls statfs(2).
	Statfs func(path string) (sizeBytes, freeBytes uint64, err error)
	// AgentVersion is reported as data/guest-agent-version/*, with the
	// kernel's major.minor as "kernel".
	AgentVersion Version
}

// Snapshot implements Source. It fails only when uname or the interfaces
// cannot be read; missing files leave their fields empty.
func (l Linux) Snapshot(ctx context.Context) (Snapshot, error) {
	uname := l.Uname
	if uname == nil {
		uname = sysUname
	}
	u, err := uname()
	if err != nil {
		return Snapshot{}, fmt.Errorf("guest agent: uname: %w", err)
	}
	s := Snapshot{Hostname: u.Nodename, OS: l.osRelease(), Memory: l.meminfo(), Balloon: l.balloon(),
		Volumes: l.volumes()}
	if s.Hostname == "(none)" {
		s.Hostname = "" // the kernel's name for no name (an initramfs that set none)
	}
	s.OS.Uname = u.Release
	if s.OS.Name == "" {
		s.OS.Name = strings.TrimSpace(u.Sysname + " " + u.Release)
	}
	v := l.AgentVersion
	s.PVDrivers = v
	s.AgentVersion = map[string]string{"major": strconv.Itoa(v.Major), "minor": strconv.Itoa(v.Minor),
		"micro": strconv.Itoa(v.Micro), "build": strconv.Itoa(v.Build), "kernel": majorMinor(u.Release)}
	list := l.Interfaces
	if list == nil {
		list = netInterfaces
	}
	if s.Interfaces, err = list(); err != nil {
		return Snapshot{}, fmt.Errorf("guest agent: network interfaces: %w", err)
	}
	return s, ctx.Err()
}

func (l Linux) path(p string) string {
	if l.Root == "" {
		return p
	}
	return filepath.Join(l.Root, p)
}

// osRelease parses os-release(5): PRETTY_NAME (or NAME), ID and VERSION_ID;
// Debian's minor version comes from /etc/debian_version when VERSION_ID
// has none.
func (l Linux) osRelease() OS {
	var b []byte
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		var err error
		if b, err = os.ReadFile(l.path(p)); err == nil {
			break
		}
	}
	kv := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `"'`)
		}
		kv[k] = v
	}
	o := OS{Name: kv["PRETTY_NAME"], Distro: kv["ID"]}
	if o.Name == "" {
		o.Name = kv["NAME"]
	}
	ver := kv["VERSION_ID"]
	if o.Distro == "debian" && !strings.Contains(ver, ".") {
		if dv, err := os.ReadFile(l.path("/etc/debian_version")); err == nil {
			if d := strings.TrimSpace(string(dv)); strings.HasPrefix(d, ver+".") {
				ver = d
			}
		}
	}
	if ver != "" {
		o.Major, o.Minor, _ = strings.Cut(ver, ".")
		o.Minor, _, _ = strings.Cut(o.Minor, ".")
		if _, err := strconv.Atoi(o.Major); err != nil {
			o.Major, o.Minor = "", ""
		}
	}
	return o
}

// meminfo reads MemTotal and MemAvailable (MemFree on kernels before
// 3.14) from /proc/meminfo, in KiB.
func (l Linux) meminfo() Memory {
	b, err := os.ReadFile(l.path("/proc/meminfo"))
	if err != nil {
		return Memory{}
	}
	var m Memory
	var free, avail uint64
	var haveAvail bool
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "MemTotal":
			m.TotalKiB = n
		case "MemFree":
			free = n
		case "MemAvailable":
			avail, haveAvail = n, true
		}
	}
	m.FreeKiB = free
	if haveAvail {
		m.FreeKiB = avail
	}
	return m
}

// volumes lists the file systems mounted from block devices (/dev/...), a
// device once with all its mount points, in the order of
// /proc/self/mounts. A file system statfs fails on is left out.
func (l Linux) volumes() []Volume {
	b, err := os.ReadFile(l.path("/proc/self/mounts"))
	if err != nil {
		return nil
	}
	statfs := l.Statfs
	if statfs == nil {
		statfs = sysStatfs
	}
	var vols []Volume
	byDev := make(map[string]int)
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[0], "/dev/") {
			continue
		}
		dev, mp, fstype := f[0], unescapeMount(f[1]), f[2]
		if i, ok := byDev[dev]; ok {
			vols[i].MountPoints = append(vols[i].MountPoints, mp)
			continue
		}
		size, free, err := statfs(l.path(mp))
		if err != nil {
			continue
		}
		byDev[dev] = len(vols)
		vols = append(vols, Volume{Name: dev, SizeBytes: size, FreeBytes: free, Filesystem: fstype,
			MountPoints: []string{mp}})
	}
	return vols
}

// unescapeMount undoes the octal escapes (\040 for a space) of a path in
// /proc/self/mounts.
func unescapeMount(p string) string {
	if !strings.Contains(p, "\\") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+3 < len(p) {
			if n, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// balloon reports whether the Xen balloon driver is there to follow
// memory/target.
func (l Linux) balloon() bool {
	for _, p := range []string{"/sys/devices/system/xen_memory/xen_memory0", "/proc/xen/balloon"} {
		if _, err := os.Stat(l.path(p)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err == nil
		}
	}
	return false
}

// majorMinor returns "6.1" of a kernel release "6.1.0-13-amd64".
func majorMinor(release string) string {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return release
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

// netInterfaces lists the kernel's network interfaces with a MAC, and
// their addresses.
func netInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, ifc := range ifs {
		if len(ifc.HardwareAddr) == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		i := Interface{Name: ifc.Name, MAC: ifc.HardwareAddr.String()}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					i.Addrs = append(i.Addrs, ip.Unmap())
				}
			}
		}
		out = append(out, i)
	}
	return out, nil
}
