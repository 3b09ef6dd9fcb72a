package guestagent_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/guestagent"
)

// fakeRoot writes files (path -> content) under a new directory.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return root
}

const meminfo = `MemTotal:        2030052 kB
MemFree:          112340 kB
MemAvailable:    1534000 kB
Buffers:           12345 kB
`

func TestLinux_Snapshot(t *testing.T) {
	eth0 := guestagent.Interface{Name: "eth0", MAC: "00:16:3e:00:00:01",
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	uname := func() (guestagent.Uname, error) {
		return guestagent.Uname{Sysname: "Linux", Nodename: "vm1", Release: "6.1.0-56-amd64"}, nil
	}
	ifaces := func() ([]guestagent.Interface, error) { return []guestagent.Interface{eth0}, nil }
	ver := guestagent.Version{Major: 1, Minor: 2}

	t.Run("debian", func(t *testing.T) {
		root := fakeRoot(t, map[string]string{
			"etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n" +
				"VERSION_ID=\"12\"\n# a comment\nID=debian\n",
			"etc/debian_version": "12.8\n",
			"proc/self/mounts": "/dev/xvda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n" +
				"/dev/xvdb /srv/my\\040data xfs rw 0 0\n/dev/xvda1 /mnt ext4 rw 0 0\n/dev/xvdc /gone ext4 rw 0 0\n",
			"proc/meminfo": meminfo,
			"sys/devices/system/xen_memory/xen_memory0/": "",
		})
		statfs := func(path string) (uint64, uint64, error) {
			switch path {
			case root:
				return 10 << 30, 7 << 30, nil
			case filepath.Join(root, "srv/my data"):
				return 1 << 30, 1 << 29, nil
			}
			return 0, 0, os.ErrNotExist
		}
		l := guestagent.Linux{Root: root, Uname: uname, Interfaces: ifaces, Statfs: statfs, AgentVersion: ver}
		s, err := l.Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, guestagent.Snapshot{
			Hostname: "vm1",
			OS: guestagent.OS{Name: "Debian GNU/Linux 12 (bookworm)", Distro: "debian", Major: "12", Minor: "8",
				Uname: "6.1.0-56-amd64"},
			Memory:    guestagent.Memory{TotalKiB: 2030052, FreeKiB: 1534000},
			Balloon:   true,
			PVDrivers: ver,
			AgentVersion: map[string]string{"major": "1", "minor": "2", "micro": "0", "build": "0",
				"kernel": "6.1"},
			Volumes: []guestagent.Volume{
				{Name: "/dev/xvda1", SizeBytes: 10 << 30, FreeBytes: 7 << 30, Filesystem: "ext4",
					MountPoints: []string{"/", "/mnt"}},
				{Name: "/dev/xvdb", SizeBytes: 1 << 30, FreeBytes: 1 << 29, Filesystem: "xfs",
					MountPoints: []string{"/srv/my data"}},
			},
			Interfaces: []guestagent.Interface{eth0},
		}, s)
	})
	t.Run("busybox", func(t *testing.T) {
		// An initramfs: no os-release, no balloon driver, no MemAvailable.
		root := fakeRoot(t, map[string]string{"proc/meminfo": "MemTotal: 100 kB\nMemFree: 60 kB\n"})
		noName := func() (guestagent.Uname, error) {
			return guestagent.Uname{Sysname: "Linux", Nodename: "(none)", Release: "6.1.0-56-amd64"}, nil
		}
		s, err := guestagent.Linux{Root: root, Uname: noName, Interfaces: ifaces}.Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, guestagent.OS{Name: "Linux 6.1.0-56-amd64", Uname: "6.1.0-56-amd64"}, s.OS)
		require.Empty(t, s.Hostname, "no hostname set")
		require.Equal(t, guestagent.Memory{TotalKiB: 100, FreeKiB: 60}, s.Memory)
		require.False(t, s.Balloon)
	})
	t.Run("this machine", func(t *testing.T) {
		// uname(2) and the kernel's interfaces, for real.
		s, err := guestagent.Linux{}.Snapshot(context.Background())
		require.NoError(t, err)
		require.NotEmpty(t, s.OS.Uname)
		require.NotZero(t, s.Memory.TotalKiB)
	})
}
