package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The invariants Check verifies.
const (
	// InvTaskTerminal: every task finished after the settle time.
	InvTaskTerminal = "task-terminal"
	// InvVMState: each VM's power state matches its domain's (a VM with a
	// domain has it with its uuid in that state; one without has none).
	InvVMState = "vm-state"
	// InvLeakedDomain: every domain but dom0 is the domain of a VM the
	// daemon knows.
	InvLeakedDomain = "leaked-domain"
	// InvXenstoreOrphan: /local/domain/<d> only for live domains; the
	// backends of a VM's devices only while it has its domain; /vm/<uuid>
	// only for known VMs.
	InvXenstoreOrphan = "xenstore-orphan"
	// InvVMActor: every VM's actor answers (it was not given up on).
	InvVMActor = "vm-actor"
	// InvDaemonRunning: every host daemon (stunnel) runs again after the
	// settle.
	InvDaemonRunning = "daemon-running"
	// InvGrowth: the daemon's goroutines and open files do not grow
	// across runs beyond a bound.
	InvGrowth = "growth"
	// InvClean: removing every VM after a run works.
	InvClean = "clean"
)

// Violation is a broken invariant and what was found.
type Violation struct {
	Run       int
	Invariant string
	Found     string
}

func (v Violation) String() string { return fmt.Sprintf("run %d: %s: %s", v.Run, v.Invariant, v.Found) }

// Check compares the daemon's view v with the host's domains and xenstore
// tree and returns the invariants broken.
func (h *Host) Check(ctx context.Context, v *View) ([]Violation, error) {
	var out []Violation
	bad := func(inv, format string, args ...any) {
		out = append(out, Violation{Invariant: inv, Found: fmt.Sprintf(format, args...)})
	}
	for _, p := range v.Pending {
		bad(InvTaskTerminal, "task %s still pending", p)
	}
	for _, d := range v.Daemons {
		bad(InvDaemonRunning, "host daemon %s", d)
	}
	doms, err := h.sim.Hypervisor().ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("chaos: listing the domains: %w", err)
	}
	byID := make(map[hypervisor.DomID]hypervisor.DomainInfo)
	for _, d := range doms {
		byID[d.ID] = d
	}
	vms := make(map[string]VMView)
	for _, vm := range v.VMs {
		vms[vm.UUID] = vm
		if vm.Err != "" {
			bad(InvVMActor, "the actor of VM %s does not answer: %s%s", vm.UUID, vm.Err, history(vm))
			continue
		}
		if !vm.HasDomain() {
			for _, d := range doms {
				if d.UUID == vm.UUID {
					bad(InvVMState, "VM %s is %s but domain %d has its uuid (%s)%s", vm.UUID, vm.Power, d.ID, domState(d),
						history(vm))
				}
			}
			continue
		}
		d, ok := byID[hypervisor.DomID(vm.DomID)]
		switch {
		case vm.DomID == 0 || !ok:
			bad(InvVMState, "VM %s is %s with domain %d, which does not exist", vm.UUID, vm.Power, vm.DomID)
		case d.UUID != vm.UUID:
			bad(InvVMState, "VM %s is %s with domain %d, which has uuid %s", vm.UUID, vm.Power, vm.DomID, d.UUID)
		case vm.Power != domState(d):
			bad(InvVMState, "VM %s is %s but its domain %d is %s%s", vm.UUID, vm.Power, vm.DomID, domState(d),
				history(vm))
		}
	}
	for _, d := range doms {
		if d.ID == 0 {
			continue
		}
		vm, ok := vms[d.UUID]
		if ok && vm.Err != "" {
			continue // reported as InvVMActor
		}
		if !ok || !vm.HasDomain() || hypervisor.DomID(vm.DomID) != d.ID {
			bad(InvLeakedDomain, "domain %d (uuid %s, %s) belongs to no VM of the daemon", d.ID, d.UUID, domState(d))
		}
	}

	dir := func(p string) ([]string, error) {
		names, err := h.xs.Directory(ctx, p)
		if errdefs.IsNotFound(err) {
			return nil, nil
		}
		return names, err
	}
	homes, err := dir("/local/domain")
	if err != nil {
		return nil, err
	}
	for _, name := range homes {
		id, err := strconv.ParseUint(name, 10, 32)
		if _, live := byID[hypervisor.DomID(id)]; err != nil || !live {
			kids, _ := dir("/local/domain/" + name)
			bad(InvXenstoreOrphan, "/local/domain/%s of no live domain (holding %q)", name, kids)
		}
	}
	uuids, err := dir("/vm")
	if err != nil {
		return nil, err
	}
	for _, u := range uuids {
		if _, ok := vms[u]; !ok {
			bad(InvXenstoreOrphan, "/vm/%s of no VM of the daemon", u)
		}
	}
	for _, class := range []string{"vbd", "vif"} {
		base := "/local/domain/0/backend/" + class
		fronts, err := dir(base)
		if err != nil {
			return nil, err
		}
		for _, f := range fronts {
			devs, err := dir(base + "/" + f)
			if err != nil {
				return nil, err
			}
			id, _ := strconv.ParseUint(f, 10, 32)
			d, live := byID[hypervisor.DomID(id)]
			vm, known := vms[d.UUID]
			for _, dev := range devs {
				devid, _ := strconv.Atoi(dev)
				specDevs := vm.VBDs
				if class == "vif" {
					specDevs = vm.VIFs
				}
				switch {
				case !live:
					bad(InvXenstoreOrphan, "%s/%s/%s of no live domain", base, f, dev)
				case !known || !vm.HasDomain() || vm.DomID != uint32(id):
					bad(InvXenstoreOrphan, "%s/%s/%s of domain %d, which no VM of the daemon holds", base, f, dev, id)
				case !slices.Contains(specDevs, int32(devid)):
					bad(InvXenstoreOrphan, "%s/%s/%s: VM %s has no %s %d", base, f, dev, vm.UUID, class, devid)
				}
			}
		}
	}
	return out, nil
}

// history tells the VM's last failed tasks, for a violation's report.
func history(vm VMView) string {
	if len(vm.Failed) == 0 {
		return ""
	}
	return "; its last failed tasks: " + strings.Join(vm.Failed, " | ")
}

// domState is a domain's state named as a VM's power state.
func domState(d hypervisor.DomainInfo) string {
	switch {
	case d.Dying:
		return "DYING"
	case d.Shutdown:
		return "SHUTDOWN"
	case d.Paused:
		return "PAUSED"
	}
	return "RUNNING"
}

// Sample is the daemon's goroutines and open files after a run's clean-up.
type Sample struct {
	Run         int
	Incarnation int
	Goroutines  int
	FDs         int
}

// sample reads the goroutines from the daemon's /metrics (go_goroutines)
// and counts /proc/<pid>/fd.
func sample(ctx context.Context, metricsAddr string, pid int) (Sample, error) {
	var s Sample
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return s, fmt.Errorf("chaos: go_goroutines %q: %w", v, err)
			}
			s.Goroutines = int(f)
			return s, nil
		}
	}
	return s, fmt.Errorf("chaos: no go_goroutines in the daemon's /metrics: %w", errdefs.ErrNotFound)
}

// The bounds on growth across the runs of one daemon, over its first
// sample: goroutines may grow by growthGoroutines plus a quarter, open
// files by growthFDs: 16, plus the hypervisor client's pool of up to 32
// idle connections (hvremote), which fills up to the highest number of
// calls the storm ever made at once and then stays.
const (
	growthGoroutines = 30
	growthFDs        = 16 + 32
)

// checkGrowth compares s with first, the first sample of the same daemon.
func checkGrowth(first, s Sample) []Violation {
	var out []Violation
	if lim := first.Goroutines + growthGoroutines + first.Goroutines/4; s.Goroutines > lim {
		out = append(out, Violation{Run: s.Run, Invariant: InvGrowth, Found: fmt.Sprintf(
			"%d goroutines after run %d, %d after run %d (bound %d)", s.Goroutines, s.Run, first.Goroutines,
			first.Run, lim)})
	}
	if lim := first.FDs + growthFDs; s.FDs > lim {
		out = append(out, Violation{Run: s.Run, Invariant: InvGrowth, Found: fmt.Sprintf(
			"%d open files after run %d, %d after run %d (bound %d)", s.FDs, s.Run, first.FDs, first.Run, lim)})
	}
	return out
}
