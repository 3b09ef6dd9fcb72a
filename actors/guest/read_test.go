package guest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
)

const (
	eventually = 5 * time.Second
	tick       = 10 * time.Millisecond
)

// readWhen reads domid until cond holds.
func readWhen(t *testing.T, xs guest.Store, domid uint32, q guest.Quota, cond func(guest.GuestMetrics) bool) guest.GuestMetrics {
	t.Helper()
	var (
		mu  sync.Mutex
		m   guest.GuestMetrics
		err error
	)
	ok := assert.Eventually(t, func() bool { // runs on another goroutine: no require, no t.Context
		got, gotErr := guest.Read(context.Background(), xs, domid, q)
		mu.Lock()
		defer mu.Unlock()
		m, err = got, gotErr
		return gotErr == nil && cond(got)
	}, eventually, tick)
	mu.Lock()
	defer mu.Unlock()
	require.NoError(t, err)
	require.True(t, ok, "metrics never matched: %+v", m)
	return m
}

func TestRead_Agents(t *testing.T) {
	for _, tc := range []struct {
		image, os, distro, volume string
	}{
		{"sim:linux,agent=50ms", "Debian GNU/Linux 12 (bookworm)", "debian", "/dev/xvda1"},
		{"sim:windows,agent=50ms", "Microsoft Windows Server 2022 Datacenter", "windows", "C:"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			e := newSimEnv(t)
			domid := e.boot(t, tc.image)
			m := readWhen(t, e.xs, domid, guest.Quota{}, func(m guest.GuestMetrics) bool {
				return m.OS.Name != "" && len(m.Networks[0].IPv4) > 0 && m.Features.Balloon
			})
			assert.Equal(t, tc.os, m.OS.Name)
			assert.Equal(t, tc.distro, m.OS.Distro)
			assert.NotZero(t, m.OS.Major)
			assert.Equal(t, []string{fmt.Sprintf("10.%d.%d.2", domid>>8&0xff, domid&0xff)}, m.Networks[0].IPv4)
			assert.Equal(t, []string{fmt.Sprintf("fd00::%x:2", domid)}, m.Networks[0].IPv6)
			assert.Equal(t, uint64(simtest.GuestMemoryKiB), m.Memory.TargetKiB)
			assert.Equal(t, uint64(simtest.GuestMemoryKiB), m.Memory.TotalKiB)
			assert.Equal(t, uint64(simtest.GuestMemoryKiB*3/5), m.Memory.FreeKiB)
			assert.Equal(t, guest.Features{Poweroff: true, Reboot: true, Suspend: true, Balloon: true}, m.Features)
			assert.True(t, m.PVDrivers.Installed)
			assert.Equal(t, "9.4.0-137", m.PVDrivers.Version())
			assert.Equal(t, tc.volume, m.Volumes[0].Name)
			assert.Equal(t, uint64(10737418240), m.Volumes[0].SizeBytes)
			assert.Equal(t, "1", m.Other["data/updated"])
			assert.NotContains(t, m.Other, "data/os_name")
			assert.False(t, m.Truncated, m.Dropped)
			assert.False(t, m.Updated.IsZero())
		})
	}
}

func TestRead_OldLayoutAndBadNumbers(t *testing.T) {
	h := home(7)
	s := newMemStore(map[string]string{
		h + "/attr/eth0/ip":           "192.168.1.5",
		h + "/attr/eth1/ip":           "not an address",
		h + "/attr/vif/2/ipv4/1":      "10.0.0.9",
		h + "/attr/vif/2/ipv4/0":      "10.0.0.8",
		h + "/data/meminfo_total":     "lots",
		h + "/data/meminfo_free":      "-5",
		h + "/data/os_majorver":       "12abc",
		h + "/memory/target":          "1024",
		h + "/control/feature-reboot": "yes",
	})
	m, err := guest.Read(t.Context(), s, 7, guest.Quota{})
	require.NoError(t, err)
	assert.Equal(t, []string{"192.168.1.5"}, m.Networks[0].IPv4)
	assert.NotContains(t, m.Networks, 1)
	assert.Equal(t, []string{"10.0.0.8", "10.0.0.9"}, m.Networks[2].IPv4)
	assert.Equal(t, guest.Memory{TargetKiB: 1024}, m.Memory)
	assert.Zero(t, m.OS.Major)
	assert.False(t, m.Features.Reboot)
	assert.Empty(t, m.PVDrivers.Version())
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

func TestRead_HostileJunk(t *testing.T) {
	e := newSimEnv(t)
	domid := e.bootHostile(t, "sim:hostile-junk,agent=50ms")
	m := readWhen(t, e.xs, domid, guest.Quota{}, func(m guest.GuestMetrics) bool {
		for _, d := range m.Dropped {
			if strings.Contains(d, "not text") {
				return true
			}
		}
		return false
	})
	all := []string{m.OS.Name, m.OS.Uname, m.OS.Distro}
	for k, v := range m.Other {
		all = append(all, k, v)
	}
	for _, n := range m.Networks {
		all = append(all, n.IPv4...)
		all = append(all, n.IPv6...)
	}
	for _, s := range all {
		assert.True(t, printable(s), "%q", s)
	}
}

// flood writes n keys under data/flood of domid as dom0.
func flood(t *testing.T, e simEnv, domid uint32, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, e.xs.Write(t.Context(), fmt.Sprintf("%s/data/flood/%d", home(domid), i), []byte("x")))
	}
}

func TestRead_Flood(t *testing.T) {
	e := newSimEnv(t)
	domid := e.boot(t, "sim:linux,agent=50ms")
	readWhen(t, e.xs, domid, guest.Quota{}, func(m guest.GuestMetrics) bool { return m.OS.Name != "" })
	flood(t, e, domid, 5000)

	t.Run("small byte budget", func(t *testing.T) {
		q := guest.Quota{MaxBytes: 64 << 10}
		m, err := guest.Read(t.Context(), e.xs, domid, q)
		require.NoError(t, err)
		assert.True(t, m.Truncated)
		assert.NotEmpty(t, m.Dropped)
		assert.LessOrEqual(t, m.Cost.Bytes, q.MaxBytes)
		assert.Less(t, m.Cost.Requests, 5000)
		// control, memory and attr come before data: the flood hides none of them.
		assert.True(t, m.Features.Balloon)
		assert.NotZero(t, m.Memory.TargetKiB)
		assert.NotEmpty(t, m.Networks[0].IPv4)
	})
	t.Run("default quota", func(t *testing.T) {
		m, err := guest.Read(t.Context(), e.xs, domid, guest.Quota{})
		require.NoError(t, err)
		assert.True(t, m.Truncated)
		assert.LessOrEqual(t, len(m.Other), guest.DefaultMaxOther)
		assert.LessOrEqual(t, m.Cost.Nodes, guest.DefaultMaxEntriesPerDir+200)
		assert.Equal(t, "Debian GNU/Linux 12 (bookworm)", m.OS.Name)
	})
	t.Run("node cap", func(t *testing.T) {
		m, err := guest.Read(t.Context(), e.xs, domid, guest.Quota{MaxNodes: 100})
		require.NoError(t, err)
		assert.True(t, m.Truncated)
		assert.LessOrEqual(t, m.Cost.Nodes, 100)
	})
}

func TestRead_HostileQuota(t *testing.T) {
	e := newSimEnv(t)
	domid := e.bootHostile(t, "sim:hostile-quota")
	q := guest.Quota{MaxBytes: 16 << 10}
	m := readWhen(t, e.xs, domid, q, func(m guest.GuestMetrics) bool { return m.Truncated })
	assert.LessOrEqual(t, m.Cost.Bytes, q.MaxBytes)
}

func TestRead_LimitsPerValueAndDepth(t *testing.T) {
	h := home(3)
	s := newMemStore(map[string]string{
		h + "/data/big":           strings.Repeat("a", 5000),
		h + "/data/a/b/c/d/e/f/g": "deep",
		h + "/data/ctl":           "x\x01y\n",
	})
	m, err := guest.Read(t.Context(), s, 3, guest.Quota{})
	require.NoError(t, err)
	assert.True(t, m.Truncated)
	assert.NotContains(t, m.Other, "data/big")
	assert.NotContains(t, m.Other, "data/a/b/c/d/e/f/g")
	assert.Equal(t, "xy", m.Other["data/ctl"])
}
