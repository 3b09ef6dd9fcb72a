package chaos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The kinds of fault. The panic kinds and FaultDaemonKill and the storage
// kinds are injected in the daemon's process (by an Injector), the others
// by Run.
const (
	// FaultPanicVM panics a VM actor (family vm) on its next message.
	FaultPanicVM = "panic-vm"
	// FaultPanicVBD and FaultPanicVIF panic the next device actor of the
	// class (families vbd and vif) in its hotplug step.
	FaultPanicVBD = "panic-vbd"
	FaultPanicVIF = "panic-vif"
	// FaultPanicGuest panics the next guest actor (family guest) that
	// reads its guest's reports.
	FaultPanicGuest = "panic-guest"
	// FaultDaemonKill kills a host daemon's process (stunnel in front of
	// the API, when stunnel is installed) with SIGKILL; its actor starts
	// it again.
	FaultDaemonKill = "daemon-kill"
	// FaultStorageSlow and FaultStorageFail make the storage plugin of the
	// chaos SR slow (seconds per call) or fail, for a while.
	FaultStorageSlow = "storage-slow"
	FaultStorageFail = "storage-fail"
	// FaultHostile makes a share of the VMs created boot hostile guest
	// kernels (hostio/sim: no shutdown ack, junk in xenstore, quota abuse,
	// flapping frontends).
	FaultHostile = "hostile"
	// FaultXenstoreDrop closes the daemon's xenstored connections; the
	// host actor dials again.
	FaultXenstoreDrop = "xenstore-drop"
	// FaultBackendSlow delays every backend state change of the simulated
	// host for a while.
	FaultBackendSlow = "backend-slow"
	// FaultHotplugFail makes the host's hotplug fail for a while.
	FaultHotplugFail = "hotplug-fail"
	// FaultKill kills xenactord with SIGKILL in the middle of the storm; a
	// new one starts on the same host and state directory.
	FaultKill = "xenactord-kill"
)

// AllFaults are every kind, in the order of the report.
var AllFaults = []string{FaultPanicVM, FaultPanicVBD, FaultPanicVIF, FaultPanicGuest, FaultDaemonKill,
	FaultStorageSlow, FaultStorageFail, FaultHostile, FaultXenstoreDrop, FaultBackendSlow, FaultHotplugFail,
	FaultKill}

// childFaults are the kinds an Injector arms in the daemon's process.
var childFaults = []string{FaultPanicVM, FaultPanicVBD, FaultPanicVIF, FaultPanicGuest, FaultDaemonKill,
	FaultStorageSlow, FaultStorageFail}

// parentFaults are the kinds Run injects during a storm (FaultKill apart).
var parentFaults = []string{FaultXenstoreDrop, FaultBackendSlow, FaultHotplugFail}

// ParseFaults parses "all" or a comma-separated list of kinds.
func ParseFaults(s string) ([]string, error) {
	if strings.TrimSpace(s) == "all" {
		return slices.Clone(AllFaults), nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(AllFaults, f) {
			return nil, fmt.Errorf("chaos: unknown fault %q (want all or some of %s): %w", f,
				strings.Join(AllFaults, ","), errdefs.ErrInvalid)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// only returns the kinds of faults that are in set, in set's order.
func only(faults, set []string) []string {
	var out []string
	for _, f := range set {
		if slices.Contains(faults, f) {
			out = append(out, f)
		}
	}
	return out
}
