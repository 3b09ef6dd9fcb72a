package guestagent_test

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/xenactor/xenactor/hostio/guestagent"
)

// A snapshot's keys: the interface whose MAC is VIF 0's reports for it.
func ExampleKeys() {
	s := guestagent.Snapshot{
		OS:     guestagent.OS{Name: "Alpine Linux v3.20", Distro: "alpine", Major: "3", Minor: "20"},
		Memory: guestagent.Memory{TotalKiB: 131072, FreeKiB: 65536},
	}
	eth0 := guestagent.Interface{Name: "eth0", MAC: "00:16:3e:00:00:01",
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	s.VIFs = guestagent.MatchVIFs(map[int]string{0: "00:16:3e:00:00:01"}, []guestagent.Interface{eth0})
	keys := guestagent.Keys(s)
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		fmt.Printf("%s = %s\n", k, keys[k])
	}
	// Output:
	// attr/vif/0/ipv4/0 = 10.0.0.2
	// data/meminfo_free = 65536
	// data/meminfo_total = 131072
	// data/os_distro = alpine
	// data/os_majorver = 3
	// data/os_minorver = 20
	// data/os_name = Alpine Linux v3.20
}
