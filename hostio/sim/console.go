package sim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// guestConsole is a simulated kernel's PV console (Linux's hvc_xen): it
// prints into the output half of the domain's console ring page, in the
// layout of public/io/console.h, and advances out_prod. The kernel writes
// only the fields it owns (out[] and out_prod), as a store to shared memory
// does, so it never races with the console daemon's out_cons.
//
// A real kernel spins while the ring is full; a simulated one must not hold
// up its other work, so what does not fit is dropped (and counted). The
// kernel keeps its own copy of out[] and out_prod: a daemon that can only
// write whole pages may put back an older copy of them, which the next
// print repairs (see docs/console.md).
type guestConsole struct {
	sim *hvsim.Sim
	id  hypervisor.DomID
	pfn uint64
	log *slog.Logger

	mu      sync.Mutex
	loaded  bool
	prod    uint32
	ring    [console.OutSize]byte
	dropped int
}

// newGuestConsole returns the console of domain id, whose ring is the page
// its build left (hvsim's Rings).
func newGuestConsole(s *hvsim.Sim, id hypervisor.DomID, log *slog.Logger) *guestConsole {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rings, err := s.Rings(ctx, id)
	if err != nil {
		return nil
	}
	return &guestConsole{sim: s, id: id, pfn: rings.ConsoleGFN, log: log}
}

// print writes text to the console ring; what does not fit is dropped.
func (c *guestConsole) print(text string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	page, err := c.sim.ReadPage(ctx, c.id, c.pfn)
	if err != nil {
		return
	}
	if !c.loaded {
		// A resumed kernel finds its ring as it left it.
		c.loaded = true
		c.prod = console.ReadIndexes(page).OutProd
		copy(c.ring[:], page[console.OffOut:])
	}
	copy(page[console.OffOut:console.OffOut+console.OutSize], c.ring[:])
	console.SetIndex(page, console.OffOutProd, c.prod)
	n, _ := console.PutOutput(page, []byte(text))
	if n < len(text) {
		c.dropped += len(text) - n
		c.log.Debug("simulated guest console ring full: output dropped", "domid", uint32(c.id), "bytes", len(text)-n,
			"dropped", c.dropped)
	}
	if n == 0 {
		return
	}
	if err := c.sim.WritePageAt(ctx, c.id, c.pfn, console.OffOut, page[console.OffOut:console.OffOut+console.OutSize]); err != nil {
		return
	}
	if err := c.sim.WritePageAt(ctx, c.id, c.pfn, console.OffOutProd, page[console.OffOutProd:console.OffOutProd+4]); err != nil {
		return
	}
	copy(c.ring[:], page[console.OffOut:])
	c.prod = console.ReadIndexes(page).OutProd
}

// bootBanner is what a kernel of profile p prints when it starts, or when
// it resumes from a saved image.
func bootBanner(p Profile, domid uint32, resumed bool) string {
	if resumed {
		return fmt.Sprintf("PM: resume from suspend (xenactor simulated guest, domain %d)\n", domid)
	}
	if p.Agent == "windows" {
		return "XENBUS: Windows PV drivers (xenactor simulated guest)\r\n" +
			fmt.Sprintf("XENBUS: domain %d\r\n", domid)
	}
	return "Linux version 6.1.0-xenactor (xenactor simulated guest) #1 SMP PREEMPT_DYNAMIC\n" +
		"Command line: root=/dev/xvda1 ro console=hvc0\n" +
		"Booting paravirtualized kernel on Xen\n" +
		fmt.Sprintf("Xen version: 4.17 (domain %d, profile %s)\n", domid, p.Name) +
		"hvc0: console [hvc0] enabled\n"
}

// shutdownLine is what a kernel prints as it shuts down for reason.
func shutdownLine(reason string) string {
	switch reason {
	case "poweroff":
		return "reboot: Power down\n"
	case "reboot":
		return "reboot: Restarting system\n"
	case "suspend":
		return "PM: suspend entry (xenactor simulated guest)\n"
	case "crash":
		return "Kernel panic - not syncing: simulated crash\n"
	}
	return ""
}

// frontendLines is what a kernel prints when frontend k connected; first
// is the first frontend of its class to connect in this kernel.
func frontendLines(k DeviceKey, first bool) string {
	switch k.Class {
	case VIF:
		s := fmt.Sprintf("xen_netfront: vif-%d: connected, eth%d up\n", k.DevID, k.DevID)
		if first {
			s = "xen_netfront: Initialising Xen virtual ethernet driver\n" + s
		}
		return s
	case VBD:
		s := fmt.Sprintf("blkfront: vbd-%d: flush diskcache: enabled; persistent grants: enabled\n", k.DevID)
		if first {
			s = "blkfront: Initialising Xen virtual block device driver\n" + s
		}
		return s
	}
	return ""
}
