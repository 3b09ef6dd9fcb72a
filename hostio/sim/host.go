package sim

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

// Config configures a simulated host.
type Config struct {
	Hypervisor hvsim.Config
	Xenstore   xenstored.Config
	// Profile picks a guest's behaviour from the image it was built from;
	// nil means ProfileForImage of the kernel (or firmware) name.
	Profile func(image string) Profile
	// Switch is the Open vSwitch VIF hotplug puts ports on; nil means an
	// in-memory ovs.Sim. ovs.Vsctl makes it a real one.
	Switch ovs.Switch
	Logger *slog.Logger
}

// Host is a simulated Xen host: a hypervisor, a xenstored, dom0's backends
// and a kernel per running guest. The toolstack reaches it only through
// Hypervisor() and xenstore (Xenstore().ConnectDomain(0), or a socket from
// Serve), as it would reach a real host.
type Host struct {
	hv      *hvsim.Sim
	xs      *xenstored.Server
	faults  *Faults
	netdevs *NetDevs
	hotplug *Hotplug
	sw      ovs.Switch
	profile func(string) Profile
	log     *slog.Logger
	dom0    *xenstore.Client
	be      *backends
	stopHV  func()
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	dirtyMu sync.Mutex
	dirty   map[hypervisor.DomID]bool // domains to look at again

	mu     sync.Mutex
	images map[hypervisor.DomID]string
	guests map[hypervisor.DomID]*guest
	gone   map[hypervisor.DomID]bool // shut down: @releaseDomain told
	// restored domains' kernels resume rather than boot.
	restored map[hypervisor.DomID]bool
	// stores are the domains' xenstore ring pages, which hold the kernel
	// note (kernel.go); agentUIDs the unique-domain-id a restored
	// domain's agent last saw, from its note.
	stores    map[hypervisor.DomID]uint64
	agentUIDs map[hypervisor.DomID]string
}

// New starts a simulated host.
func New(cfg Config) (*Host, error) {
	h := &Host{
		hv: hvsim.New(cfg.Hypervisor), xs: xenstored.New(cfg.Xenstore), faults: &Faults{},
		netdevs: newNetDevs(), sw: cfg.Switch, profile: cfg.Profile, log: cfg.Logger,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		images: make(map[hypervisor.DomID]string), guests: make(map[hypervisor.DomID]*guest),
		gone: make(map[hypervisor.DomID]bool), dirty: make(map[hypervisor.DomID]bool),
		restored: make(map[hypervisor.DomID]bool), stores: make(map[hypervisor.DomID]uint64),
		agentUIDs: make(map[hypervisor.DomID]string),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.profile == nil {
		h.profile = ProfileForImage
	}
	if h.sw == nil {
		h.sw = ovs.NewSim()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if h.dom0, err = h.connect(0); err != nil {
		h.xs.Close()
		return nil, err
	}
	h.hotplug = &Hotplug{xs: h.dom0, netdevs: h.netdevs, sw: h.sw, faults: h.faults}
	beConn, err := h.connect(0)
	if err == nil {
		h.be, err = startBackends(ctx, beConn, h.netdevs, h.faults, h.log)
	}
	var intro *xenstore.Watch
	if err == nil {
		// With depth 1 the events name the domain: @introduceDomain/<domid>.
		intro, err = h.dom0.WatchDepth(ctx, xenstore.WatchIntroduceDomain, "sim-introduce", 1)
	}
	if err != nil {
		h.xs.Close()
		return nil, fmt.Errorf("sim: starting the host: %w", err)
	}
	h.stopHV = h.hv.OnDomainChange(h.changed)
	h.wg.Add(1)
	go h.run(intro)
	return h, nil
}

func (h *Host) connect(domid uint32) (*xenstore.Client, error) {
	nc, err := h.xs.ConnectDomain(domid)
	if err != nil {
		return nil, err
	}
	return xenstore.NewClient(nc), nil
}

// Hypervisor is the host's hypervisor interface, as the toolstack sees it.
func (h *Host) Hypervisor() hypervisor.Hypervisor { return hostHV{h.hv, h} }

// Sim is the simulated hypervisor itself, with its simulation-only methods.
func (h *Host) Sim() *hvsim.Sim { return h.hv }

// Xenstore is the host's xenstore daemon.
func (h *Host) Xenstore() *xenstored.Server { return h.xs }

// Faults are the host's latency and failure knobs.
func (h *Host) Faults() *Faults { return h.faults }

// NetDevs are dom0's network interfaces.
func (h *Host) NetDevs() *NetDevs { return h.netdevs }

// Switch is dom0's Open vSwitch, where VIF hotplug puts the ports.
func (h *Host) Switch() ovs.Switch { return h.sw }

// Hotplug is the host's hotplug step, which the toolstack runs.
func (h *Host) Hotplug() *Hotplug { return h.hotplug }

// Serve serves xenstore on l (a Unix socket from xenstored.Listen) until
// the host closes.
func (h *Host) Serve(l net.Listener) error { return h.xs.Serve(l) }

// Close stops every guest, the backends and the xenstore daemon.
func (h *Host) Close() error {
	select {
	case <-h.done:
		return nil
	default:
	}
	close(h.done)
	h.stopHV()
	h.wg.Wait()
	h.mu.Lock()
	guests := make([]*guest, 0, len(h.guests))
	for _, g := range h.guests {
		guests = append(guests, g)
	}
	h.mu.Unlock()
	for _, g := range guests {
		g.stop()
	}
	h.be.close()
	h.dom0.Close()
	return h.xs.Close()
}

// hostHV is the hypervisor as the toolstack sees it: the simulator, with
// Build and Restore noting which image each guest boots (kernel.go).
type hostHV struct {
	*hvsim.Sim
	h *Host
}

func (v hostHV) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	r, err := v.Sim.Build(ctx, id, cfg)
	if err == nil {
		image := cfg.Kernel
		if image == "" {
			image = cfg.Firmware
		}
		if err := v.loadKernel(ctx, id, r, image); err != nil {
			return r, err
		}
		v.h.mu.Lock()
		v.h.images[id] = image
		v.h.stores[id] = r.StoreGFN
		v.h.mu.Unlock()
	}
	return r, err
}
