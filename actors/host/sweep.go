package host

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The sweep makes xenstore converge on the domains that exist. A
// teardown's removals may meet a dropped xenstored connection, and a
// hotplug or a backend may write below a device's tree after a teardown
// removed it: the trees of a domain that no longer exists would stay. So
// the host sweeps, after each re-dial of xenstored and every
// Config.SweepInterval, the trees of the gone domains it manages:
// /local/domain/<d>, the backends /local/domain/0/backend/{vbd,vif}/<d>,
// /xapi/<d>, and /vm/<uuid> of the VMs it removed. A domain is managed
// when one of the host's VM actors created it, or when its home's vm key
// names a VM of the host. Nothing else is touched: neither dom0's own
// nodes, nor live domains, nor domains of other toolstacks.

// DefaultSweepInterval is Config.SweepInterval when unset.
const DefaultSweepInterval = 5 * time.Second

// sweepTimeout bounds one sweep.
const sweepTimeout = 30 * time.Second

// managedForgetAfter is how long a gone domain stays in the managed set:
// writes landing later than that are not expected.
const managedForgetAfter = 10 * time.Minute

// managedDomains is the set of domains the VM actors created
// (vm.Config.OnCreate), safe for concurrent use.
type managedDomains struct {
	mu  sync.Mutex
	ids map[uint32]time.Time // when last seen created or alive
}

func (m *managedDomains) add(id hypervisor.DomID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = make(map[uint32]time.Time)
	}
	m.ids[uint32(id)] = time.Now()
}

func (m *managedDomains) has(id uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok
}

// refresh notes the live domains as seen now and forgets the gone ones
// not seen for managedForgetAfter.
func (m *managedDomains) refresh(live map[uint32]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for id, at := range m.ids {
		switch {
		case live[id]:
			m.ids[id] = now
		case now.Sub(at) > managedForgetAfter:
			delete(m.ids, id)
		}
	}
}

// private messages of the sweep
type (
	sweepTick struct{}
	// sweepDone ends a sweep with the domains it listed (nil if it could
	// not list them).
	sweepDone struct{ doms []hypervisor.DomainInfo }
)

// startSweeps sends a sweepTick every interval until life ends.
func (h *hostActor) startSweeps(ctx actor.Context, life context.Context) {
	interval := h.cfg.SweepInterval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-life.Done():
				return
			case <-t.C:
				system.Root.Send(self, &sweepTick{})
			}
		}
	}()
}

// sweep sweeps once, off the mailbox, unless a sweep is running.
func (h *hostActor) sweep(ctx actor.Context) {
	if h.sweeping || h.life.Err() != nil {
		return
	}
	h.sweeping = true
	uuids := make(map[string]bool, len(h.vms))
	for uuid := range h.vms {
		uuids[uuid] = true
	}
	removed := make(map[string]bool, len(h.removed))
	for uuid, at := range h.removed {
		if time.Since(at) > managedForgetAfter {
			delete(h.removed, uuid)
		} else if !uuids[uuid] {
			removed[uuid] = true
		}
	}
	system, self, life := ctx.ActorSystem(), ctx.Self(), h.life
	s := sweeper{hv: h.cfg.Hypervisor, xs: h.xs, managed: h.managed, uuids: uuids, removed: removed,
		log: h.cfg.Logger.Info}
	go func() {
		sctx, cancel := context.WithTimeout(life, sweepTimeout)
		doms := s.run(sctx)
		cancel()
		system.Root.Send(self, &sweepDone{doms: doms})
	}()
}

// sweeper is one sweep.
type sweeper struct {
	hv      hypervisor.Hypervisor
	xs      *xenstore.Client
	managed *managedDomains
	uuids   map[string]bool // the host's VMs
	removed map[string]bool // VMs the host removed, whose /vm/<uuid> it may remove
	log     func(msg string, args ...any)
}

func (s sweeper) run(ctx context.Context) []hypervisor.DomainInfo {
	dir := func(p string) []string {
		names, _ := s.xs.Directory(ctx, p)
		return names
	}
	// xenstore first, then the domains: a home listed belongs to a domain
	// created before the listing of the domains.
	cands := make(map[uint32]bool)
	for _, p := range []string{"/local/domain", "/local/domain/0/backend/vbd", "/local/domain/0/backend/vif"} {
		for _, name := range dir(p) {
			if id, err := strconv.ParseUint(name, 10, 32); err == nil && id != uint64(hypervisor.Dom0) {
				cands[uint32(id)] = true
			}
		}
	}
	vms := dir("/vm")
	doms, err := s.hv.ListDomains(ctx)
	if err != nil {
		return nil
	}
	live := make(map[uint32]bool, len(doms))
	liveUUIDs := make(map[string]bool, len(doms))
	for _, d := range doms {
		live[uint32(d.ID)] = true
		liveUUIDs[strings.ToLower(d.UUID)] = true
	}
	s.managed.refresh(live)
	for id := range cands {
		if live[id] || !s.manages(ctx, id) {
			continue
		}
		if err := removeDomainTrees(ctx, s.xs, id); err == nil {
			s.log("swept the xenstore trees of a gone domain", "domid", id)
		}
	}
	for _, uuid := range vms {
		if s.removed[uuid] && !liveUUIDs[strings.ToLower(uuid)] {
			if err := rmIfExists(ctx, s.xs, "/vm/"+uuid); err == nil {
				s.log("swept /vm of a removed VM", "vm", uuid)
			}
		}
	}
	return doms
}

// handleSweepDone tells each VM with domains of its uuid that are not its
// own, while none of its operations runs (in any incarnation of its
// actor), to destroy them: an interrupted operation left them.
func (h *hostActor) handleSweepDone(ctx actor.Context, msg *sweepDone) {
	h.sweeping = false
	strays := make(map[string][]hypervisor.DomID)
	var orphans []hypervisor.DomID
	// The uuids of the domains of VMs migrating to this host.
	claimed := make(map[string]bool)
	for _, in := range h.incoming {
		claimed[strings.ToLower(in.rec.For)] = true
	}
	for _, e := range h.vms {
		if e.domainUUID != "" {
			claimed[strings.ToLower(e.domainUUID)] = true
		}
	}
	for _, d := range msg.doms {
		uuid := strings.ToLower(d.UUID)
		e := h.vms[uuid]
		if _, removed := h.removed[uuid]; removed && e == nil && !claimed[uuid] && d.ID != hypervisor.Dom0 {
			// A domain of a VM the host removed: an operation that
			// outlived its actor made it.
			orphans = append(orphans, d.ID)
			continue
		}
		if d.ID == hypervisor.Dom0 || e == nil || e.pid == nil || e.domainUUID != "" || h.isIncoming(uuid) ||
			(e.hasDom && e.domid == uint32(d.ID)) || e.journal.Busy() {
			continue
		}
		strays[uuid] = append(strays[uuid], d.ID)
	}
	if len(orphans) > 0 {
		h.cfg.Logger.Warn("domains of removed VMs; destroying them", "domains", orphans)
		hv, xs := h.cfg.Hypervisor, h.xs
		go func() {
			dctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
			defer cancel()
			for _, id := range orphans {
				_ = hv.Pause(dctx, id)
				if err := hv.Destroy(dctx, id); err == nil || errdefs.IsNotFound(err) {
					_ = removeDomainTrees(dctx, xs, uint32(id))
				}
			}
		}()
	}
	for uuid, ids := range strays {
		h.cfg.Logger.Warn("domains of a VM that are not its domain; it destroys them", "vm", uuid, "domains", ids)
		ctx.Send(h.vms[uuid].pid, &vm.DestroyStrays{DomIDs: ids})
	}
}

// manages reports whether gone domain id was the host's.
func (s sweeper) manages(ctx context.Context, id uint32) bool {
	if s.managed.has(id) {
		return true
	}
	v, err := s.xs.Read(ctx, xenstore.DomainPath(id)+"/vm")
	if err != nil {
		return false
	}
	uuid, ok := strings.CutPrefix(string(v), "/vm/")
	return ok && (s.uuids[uuid] || s.removed[uuid])
}

// removeDomainTrees releases gone domain id from xenstored if it is still
// introduced and removes its trees.
func removeDomainTrees(ctx context.Context, xs *xenstore.Client, id uint32) error {
	if in, err := xs.IsDomainIntroduced(ctx, id); err == nil && in {
		if err := xs.Release(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	d := strconv.FormatUint(uint64(id), 10)
	for _, p := range []string{xenstore.DomainPath(id), "/local/domain/0/backend/vbd/" + d,
		"/local/domain/0/backend/vif/" + d, xenbus.PrivateRoot(id)} {
		if err := rmIfExists(ctx, xs, p); err != nil {
			return err
		}
	}
	return nil
}

// rmIfExists removes path; a missing path is not an error.
func rmIfExists(ctx context.Context, xs *xenstore.Client, path string) error {
	if err := xs.Rm(ctx, path); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}
