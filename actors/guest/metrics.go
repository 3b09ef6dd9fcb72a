package guest

import (
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/xenactor/xenactor/internal/telemetry"
)

// The guest actors' Prometheus metrics (docs/metrics.md).
var (
	readsTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "guest", Name: "reads", Unit: "total",
		Help:   "Reads of the guests' reports (data/, attr/, control/), by result (ok, the error kind, or panic).",
		Labels: []string{"result"}})
	changesTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "guest", Name: "changes", Unit: "total",
		Help: "Reads that found a guest's reports changed."}).WithLabelValues()
)

// observeRead counts a finished read.
func observeRead(done *readDone) {
	if done.panicked != nil {
		readsTotal.WithLabelValues("panic").Inc()
		return
	}
	readsTotal.WithLabelValues(telemetry.Result(done.err)).Inc()
}

// GuestMetrics is what the guest reported about itself, as last read.
type GuestMetrics struct {
	OS        OS
	PVDrivers PVDrivers
	Features  Features
	Memory    Memory
	// Networks holds the addresses of each VIF, keyed by its device id.
	Networks map[int]Network
	// Volumes are the guest's file systems from data/volumes, by index.
	Volumes map[int]Volume
	// Other holds the remaining data/ keys (paths relative to the home,
	// "data/..."), at most Quota.MaxOther of them.
	Other map[string]string

	// Updated is when the metrics were read; LastChange when they last
	// differed from the read before (set by the actor).
	Updated    time.Time
	LastChange time.Time
	// Truncated is set when a cap of the Quota stopped the walk or left
	// entries out; Dropped says what was left out (at most maxNotes notes).
	Truncated bool
	Dropped   []string
	// Cost is what the read took.
	Cost Cost
}

// OS is data/os_*.
type OS struct {
	Name   string // data/os_name, up to a "|" (Windows agents append paths)
	Uname  string // data/os_uname
	Distro string // data/os_distro
	Major  int    // data/os_majorver
	Minor  int    // data/os_minorver
}

// PVDrivers is attr/PVAddons/* (or data/pv-drivers-version/*).
type PVDrivers struct {
	Installed                  bool
	Major, Minor, Micro, Build int
}

// Version returns "major.minor.micro-build", or "" when no version is known.
func (p PVDrivers) Version() string {
	if p.Major == 0 && p.Minor == 0 && p.Micro == 0 && p.Build == 0 {
		return ""
	}
	return itoa(p.Major) + "." + itoa(p.Minor) + "." + itoa(p.Micro) + "-" + itoa(p.Build)
}

// Features is control/feature-*: what the guest's drivers handle.
type Features struct {
	Poweroff, Reboot, Suspend, Balloon bool
}

// Memory is data/meminfo_* as the guest sees it and memory/target as the
// toolstack asked, in KiB.
type Memory struct {
	TotalKiB  uint64
	FreeKiB   uint64
	TargetKiB uint64
}

// Network is the addresses a guest reported for one VIF.
type Network struct {
	IPv4 []string
	IPv6 []string
}

// Volume is one of data/volumes/<n>.
type Volume struct {
	Name        string
	FileSystem  string
	SizeBytes   uint64
	FreeBytes   uint64
	MountPoints []string
}

// Cost is the work one read took.
type Cost struct {
	Requests int // xenstore requests sent
	Bytes    int // bytes of names and values received
	Nodes    int // nodes visited
}

// Equal reports whether m and o hold the same report, ignoring when they were
// read and what the reads cost.
func (m GuestMetrics) Equal(o GuestMetrics) bool {
	return reflect.DeepEqual(m.comparable(), o.comparable())
}

// comparable returns m without its times and cost, with empty maps as nil.
func (m GuestMetrics) comparable() GuestMetrics {
	m.Updated, m.LastChange, m.Cost = time.Time{}, time.Time{}, Cost{}
	if len(m.Networks) == 0 {
		m.Networks = nil
	}
	if len(m.Volumes) == 0 {
		m.Volumes = nil
	}
	if len(m.Other) == 0 {
		m.Other = nil
	}
	if len(m.Dropped) == 0 {
		m.Dropped = nil
	}
	return m
}

// Clone returns a deep copy of m, so a snapshot handed out is never shared
// with the actor's state.
func (m GuestMetrics) Clone() GuestMetrics {
	if m.Networks != nil {
		nets := make(map[int]Network, len(m.Networks))
		for k, n := range m.Networks {
			nets[k] = Network{IPv4: slices.Clone(n.IPv4), IPv6: slices.Clone(n.IPv6)}
		}
		m.Networks = nets
	}
	if m.Volumes != nil {
		vols := make(map[int]Volume, len(m.Volumes))
		for k, v := range m.Volumes {
			v.MountPoints = slices.Clone(v.MountPoints)
			vols[k] = v
		}
		m.Volumes = vols
	}
	m.Other = maps.Clone(m.Other)
	m.Dropped = slices.Clone(m.Dropped)
	return m
}
