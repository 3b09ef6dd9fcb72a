// Package host is the host actor, one per daemon: it owns the task registry,
// the update stream, the watches actor and the domains parent, under which it
// spawns one VM actor per registered VM.
//
// Each VM's record (vm.Record: spec with its hot-plugged devices, domain,
// command in flight) lives in the state directory, kind "vm", written by the
// VM actor through its vm.Journal. A host started again lists the domains
// once and spawns a VM actor per record: the actor fails the task of an
// interrupted command, destroys the domains of its uuid the record does not
// hold as complete (strays of an interrupted start or reboot), and adopts
// its domain. Domains of other uuids are never touched.
//
// The host routes the hypervisor's domain events: it lists the domains on
// each signal and sends vm.CheckState only to the VMs whose domain changed,
// so a domain event costs O(changed domains), not a check of every VM
// (vm.Config.HostEvents).
package host

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/actors/watches"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/supervisors"
)

// KindVM is the state-directory kind of the VM records.
const KindVM = "vm"

// statTimeout bounds each StatVM the host asks.
const statTimeout = 5 * time.Second

// Config is what the host actor works with.
type Config struct {
	StateDir   *statedir.Store
	Hypervisor hypervisor.Hypervisor
	// Dial opens a dom0 connection to xenstored: one for the watches actor
	// (re-dialled when it drops), and one for the VM actors when Xenstore is
	// nil (dialled at start, closed when the host stops).
	Dial     func(ctx context.Context) (*xenstore.Client, error)
	Xenstore *xenstore.Client
	Hotplug  hotplug.Hotplug
	// TuneVM, if set, adjusts each VM actor's config (timeouts, say).
	TuneVM  func(*vm.Config)
	Logger  *slog.Logger
	Watches []watches.Option
	// Accounting, if set, records the failures of the VM actors and of
	// their children (device actors) by family and reason: the restarts
	// the supervisors made.
	Accounting *supervisors.Accounting
	// Storage, if set, plugs the VBDs that name a VDI through their SR's
	// plugin (vm.Config.Storage).
	Storage *storage.Registry
	// DeviceModels, if set, starts a device model for each HVM VM
	// (vm.Config.DeviceModels).
	DeviceModels devicemodel.Launcher
	// VGPUs, if set, runs the vGPUs' emulators (vm.Config.VGPUs);
	// PVSSwitch, if set, takes the OpenFlow rules of VIFs with PVS
	// settings (vm.Config.PVSSwitch).
	VGPUs     vgpu.Launcher
	PVSSwitch ovs.FlowSwitch
	// DaemonAffects says whether the VM of spec depends on the daemon: when
	// the daemon is given up on (DaemonChanged with daemons.StateFailed),
	// such a VM's status lists it (vm.VMStatus.DaemonFaults) until it runs
	// again. Nil makes every daemon affect every VM.
	DaemonAffects func(daemon string, spec vm.Spec) bool
	// RespawnBackoff is the delay before each respawn of a VM actor that
	// failed for good (DefaultRespawnBackoff when zero); MaxRespawns how
	// many respawns within 10 minutes before the host gives up on the VM
	// (DefaultMaxRespawns when zero).
	RespawnBackoff supervisors.Backoff
	MaxRespawns    int
	// SweepInterval is the period of the sweeps of the xenstore trees of
	// gone domains (DefaultSweepInterval when zero).
	SweepInterval time.Duration
}

// Props returns the props of the host actor. Spawn one per daemon.
func Props(cfg Config) *actor.Props {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &hostActor{cfg: cfg, faults: newDaemonFaults(cfg.DaemonAffects)}
	}, actor.WithMailbox(actor.Unbounded(mailboxBacklog)))
}

// entry is one registered VM.
type entry struct {
	journal *vm.Journal
	pid     *actor.PID // nil while spawning
	seq     uint64     // last stat asked
	applied uint64     // last stat applied
	domid   uint32
	hasDom  bool
	// power is the power state counted in the metrics, if counted.
	power   vm.PowerState
	counted bool
	// domainUUID is the uuid of the domains of an incoming VM under a
	// temporary uuid (vm.Config.DomainUUID); "" for the VM's own.
	domainUUID string
	// failed is set while the VM's actor is gone after a failure (its
	// respawn pending, or givenUp); lastFailure is the reason its
	// supervisor gave, respawns when it was respawned.
	failed      error
	givenUp     bool
	removing    bool // RemoveVM of the failed VM runs
	lastFailure string
	respawns    []time.Time
}

type hostActor struct {
	cfg     Config
	xs      *xenstore.Client
	ownXS   bool
	tasks   *actor.PID
	events  *actor.PID
	watches *actor.PID
	domains *actor.PID
	vms     map[string]*entry
	byDom   map[uint32]string
	// incoming are the migrations to this host of VMs it has, by
	// temporary uuid (incoming.go).
	incoming map[string]*incomingVM
	cancel   context.CancelFunc
	// life ends when the host stops.
	life context.Context
	// daemons holds the latest status of each daemon, by name; faults
	// those given up on, which the VM actors read for their statuses.
	daemons map[string]daemons.Status
	faults  *daemonFaults
	// seen is the last listing of the domains (spare the map of the one
	// before, reused); unseen the domains the host learned of (from a
	// VM's status) that it did not hold. listing is set while a listing is
	// in flight, relist when a domain event came meanwhile.
	seen    map[hypervisor.DomID]domState
	spare   map[hypervisor.DomID]domState
	unseen  map[hypervisor.DomID]string
	listing bool
	relist  bool
	// managed are the domains the VM actors created; removed the VMs
	// removed; sweeping is set while a sweep runs (sweep.go).
	managed  *managedDomains
	removed  map[string]time.Time
	sweeping bool
}

// Receive dispatches on the message type.
func (h *hostActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		h.handleStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		h.forgetPowers()
		if h.cancel != nil {
			h.cancel() // the update stream's and the domain events' subscriptions
		}
	case *actor.Stopped:
		if h.ownXS && h.xs != nil {
			_ = h.xs.Close()
		}
	case *AddVM:
		h.handleAdd(ctx, msg)
	case *RemoveVM:
		h.handleRemove(ctx, msg)
	case *removeChecked:
		h.handleRemoveChecked(ctx, msg)
	case *vmMigrated:
		h.handleMigrated(ctx, msg)
	case *addIncoming:
		h.handleAddIncoming(ctx, msg)
	case *commitIncoming:
		h.handleCommitIncoming(ctx, msg)
	case *finishIncoming:
		h.handleFinishIncoming(ctx, msg)
	case *beginReceiving:
		h.handleReceiving(ctx, msg.uuid, &receivingRecord{})
	case *commitReceiving:
		h.handleReceiving(ctx, msg.uuid, &receivingRecord{Committed: true})
	case *endReceiving:
		h.handleReceiving(ctx, msg.uuid, nil)
	case *incomingStopped:
		h.handleIncomingStopped(ctx, msg)
	case *VM:
		e := h.vms[msg.UUID]
		if e == nil {
			ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s: %w", msg.UUID, errdefs.ErrNotFound)})
			return
		}
		if e.pid == nil && e.failed != nil {
			ctx.Respond(&VMReply{Err: e.failed})
			return
		}
		if e.pid == nil {
			ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s: its actor is being spawned: %w", msg.UUID,
				errdefs.ErrUnavailable)})
			return
		}
		ctx.Respond(&VMReply{PID: e.pid, Spec: e.journal.Record().Spec})
	case *ListVMs:
		h.handleList(ctx)
	case *GetPIDs:
		ctx.Respond(&PIDs{Tasks: h.tasks, Events: h.events, Watches: h.watches, Domains: h.domains})
	case *DaemonChanged:
		h.handleDaemonChanged(ctx, msg)
	case *ListDaemons:
		h.handleListDaemons(ctx)
	case *vmChanged:
		h.stat(ctx, msg.uuid)
	case *vmStatted:
		h.handleStatted(ctx, msg)
	case *watches.NeedsAttention:
		h.handleAttention(ctx, msg)
	case *xsLost:
		h.handleXSLost(ctx, msg)
	case *xsRedialed:
		h.handleXSRedialed(ctx, msg)
	case *vmStopped:
		h.handleVMStopped(ctx, msg)
	case *domainEvent:
		h.handleDomainEvent(ctx)
	case *domainsListed:
		h.handleDomainsListed(ctx, msg)
	case *vmGivenUp:
		h.handleGivenUp(msg)
	case *vmTerminated:
		h.handleTerminated(ctx, msg)
	case *vmRespawn:
		h.handleRespawn(ctx, msg)
	case *failedRemoved:
		h.handleFailedRemoved(ctx, msg)
	case *sweepTick:
		h.sweep(ctx)
	case *sweepDone:
		h.handleSweepDone(ctx, msg)
	}
}

func (h *hostActor) handleStarted(ctx actor.Context) {
	h.vms = make(map[string]*entry)
	h.byDom = make(map[uint32]string)
	h.incoming = make(map[string]*incomingVM)
	h.managed = &managedDomains{}
	h.removed = make(map[string]time.Time)
	h.xs = h.cfg.Xenstore
	if h.xs == nil {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		xs, err := h.cfg.Dial(dctx)
		cancel()
		if err != nil {
			panic(fmt.Errorf("host: dial xenstored: %w: %w", errdefs.ErrUnavailable, err))
		}
		h.xs, h.ownXS = xs, true
	}
	h.events = h.spawnChild(ctx, events.Props(), "events")
	h.tasks = h.spawnChild(ctx, tasks.Props(tasks.WithEvents(h.events)), "tasks")
	system, self := ctx.ActorSystem(), ctx.Self()
	vmOpts := []supervisors.Option{supervisors.WithFamily("vm"), supervisors.OnGiveUp(func(child *actor.PID, reason any) {
		system.Root.Send(self, &vmGivenUp{pid: child, reason: reason})
	})}
	if h.cfg.Accounting != nil {
		vmOpts = append(vmOpts, supervisors.WithAccounting(h.cfg.Accounting))
	}
	h.domains = h.spawnChild(ctx, actor.PropsFromFunc(domains,
		actor.WithSupervisor(supervisors.New(vmOpts...))), "domains")
	h.watches = h.spawnChild(ctx, watches.Props(watches.Dialer(h.cfg.Dial),
		watches.ToPID(ctx.ActorSystem(), ctx.Self()), h.cfg.Watches...), "watches")

	// Follow the update stream: every change of vm/<uuid> re-stats that VM,
	// which keeps the domid map and the per-domain watches right.
	sctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.life = cancel, sctx
	batches := events.NewClient(system, h.events).Subscribe(sctx, 0)
	h.subscribeDomainEvents(ctx, sctx)
	go func() {
		for b := range batches {
			for _, id := range b.IDs {
				if uuid, ok := strings.CutPrefix(id, "vm/"); ok {
					system.Root.Send(self, &vmChanged{uuid: uuid})
				}
			}
		}
	}()

	if h.ownXS {
		h.watchXS(ctx, sctx, h.xs)
	}
	h.startSweeps(ctx, sctx)
	h.load(ctx)
}

// load spawns a VM actor per record of the state directory. The domains
// of each VM's uuid that its record does not hold are strays, left by an
// operation the previous daemon did not finish: the VM actor destroys
// them. Domains of uuids without a record are not touched.
func (h *hostActor) load(ctx actor.Context) {
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer lcancel()
	h.settleIncoming(lctx)
	h.settleReceiving(lctx)
	byUUID := make(map[string][]hypervisor.DomID)
	doms, err := h.cfg.Hypervisor.ListDomains(lctx)
	if err != nil {
		h.cfg.Logger.Error("listing the domains: strays of interrupted operations are not looked for", "err", err)
	}
	for _, d := range doms {
		if d.ID != hypervisor.Dom0 {
			u := strings.ToLower(d.UUID)
			byUUID[u] = append(byUUID[u], d.ID)
		}
	}
	err = h.cfg.StateDir.Load(lctx, KindVM, func(id string, raw json.RawMessage) error {
		var rec vm.Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("%w: %w", errdefs.ErrInvalid, err)
		}
		if rec.Spec.UUID != id {
			return fmt.Errorf("%w: record %s holds VM %q", errdefs.ErrInvalid, id, rec.Spec.UUID)
		}
		var strays []hypervisor.DomID
		for _, d := range byUUID[strings.ToLower(id)] {
			h.managed.add(d)
			if d != rec.DomID {
				strays = append(strays, d)
			}
		}
		h.spawn(ctx, rec, strays, nil)
		h.cfg.Logger.Info("VM loaded", "vm", id, "domid", rec.DomID, "strays", strays,
			"interrupted", rec.Op != nil)
		return nil
	})
	if err != nil {
		h.cfg.Logger.Error("loading the VM records", "err", err)
	}
}

// saveFunc returns the function VM uuid's journal saves its record with.
func (h *hostActor) saveFunc(uuid string) vm.SaveFunc {
	store := h.cfg.StateDir
	return func(ctx context.Context, rec vm.Record) error { return store.Put(ctx, KindVM, uuid, rec) }
}

func (h *hostActor) spawnChild(ctx actor.Context, props *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		panic(fmt.Errorf("host: spawn %s: %w", name, err))
	}
	return pid
}

// domains is the parent of the VM actors: it spawns what it is asked to,
// and tells the host of each VM actor that stopped.
func domains(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *spawnVM:
		pid, err := ctx.SpawnNamed(msg.props, msg.name)
		if err != nil {
			ctx.Respond(err)
			return
		}
		ctx.Respond(pid)
	case *actor.Terminated:
		ctx.Send(ctx.Parent(), &vmTerminated{pid: msg.Who})
	}
}

// spawn registers the VM of rec and asks domains to spawn its actor, which
// adopts rec's domain and destroys strays; done, if set, is called in the
// actor once it is spawned or failed.
func (h *hostActor) spawn(ctx actor.Context, rec vm.Record, strays []hypervisor.DomID, done func(*actor.PID, error)) {
	h.spawnEntry(ctx, &entry{journal: vm.NewJournal(rec, h.saveFunc(rec.Spec.UUID))}, rec, strays, done)
}

// spawnEntry is spawn with the entry e of rec made by the caller.
func (h *hostActor) spawnEntry(ctx actor.Context, e *entry, rec vm.Record, strays []hypervisor.DomID,
	done func(*actor.PID, error)) {
	if old := h.vms[rec.Spec.UUID]; old != nil {
		forgetPower(old)
	}
	h.vms[rec.Spec.UUID] = e
	h.spawnActor(ctx, e, strays, func(pid *actor.PID, err error) {
		if err != nil && h.vms[rec.Spec.UUID] == e {
			forgetPower(e)
			delete(h.vms, rec.Spec.UUID)
		}
		if done != nil {
			done(pid, err)
		}
	})
}

// spawnActor asks domains to spawn the actor of e's VM from its journal;
// done is called in the actor once it is spawned or failed.
func (h *hostActor) spawnActor(ctx actor.Context, e *entry, strays []hypervisor.DomID, done func(*actor.PID, error)) {
	spec := e.journal.Record().Spec
	cfg := vm.Config{Spec: spec, Hypervisor: h.cfg.Hypervisor, Xenstore: h.xs, Hotplug: h.cfg.Hotplug,
		Tasks: h.tasks, Events: h.events, Journal: e.journal, Strays: strays,
		HostEvents: true, Storage: h.cfg.Storage, DeviceModels: h.cfg.DeviceModels, VGPUs: h.cfg.VGPUs,
		PVSSwitch: h.cfg.PVSSwitch, DaemonFaults: h.faults.of, DomainUUID: e.domainUUID, OnCreate: h.managed.add}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	cfg.OnMigrated = func(uuid string) { root.Send(self, &vmMigrated{uuid: uuid}) }
	if h.cfg.Accounting != nil {
		cfg.DeviceSupervisor = supervisors.New(supervisors.WithAccounting(h.cfg.Accounting))
	}
	if h.cfg.TuneVM != nil {
		h.cfg.TuneVM(&cfg)
	}
	f := ctx.RequestFuture(h.domains, &spawnVM{name: vm.Name(spec.UUID), props: vm.Props(cfg)}, 10*time.Second)
	ctx.ReenterAfter(f, func(res any, err error) {
		pid, ok := res.(*actor.PID)
		if err == nil && !ok {
			err, _ = res.(error)
			if err == nil {
				err = fmt.Errorf("host: unexpected spawn reply %T", res)
			}
		}
		if err != nil {
			h.cfg.Logger.Error("spawning a VM actor", "vm", spec.UUID, "err", err)
		} else {
			e.pid = pid
			h.stat(ctx, spec.UUID)
		}
		done(pid, err)
	})
}

func (h *hostActor) handleAdd(ctx actor.Context, msg *AddVM) {
	uuid := msg.Spec.UUID
	if uuid == "" {
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: a VM needs a uuid: %w", errdefs.ErrInvalid)})
		return
	}
	if h.vms[uuid] != nil {
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s: %w", uuid, errdefs.ErrExists)})
		return
	}
	delete(h.removed, uuid)
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := vm.Record{Spec: msg.Spec}
	if err := h.cfg.StateDir.Put(pctx, KindVM, uuid, rec); err != nil {
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: persist VM %s: %w", uuid, err)})
		return
	}
	sender := ctx.Sender()
	h.spawn(ctx, rec, nil, func(pid *actor.PID, err error) {
		if err != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = h.cfg.StateDir.Delete(dctx, KindVM, uuid)
		} else {
			// A new VM is news to the clients following the stream.
			ctx.Send(h.events, &events.Changed{ID: vm.ObjectID(uuid)})
		}
		ctx.Send(sender, &VMReply{PID: pid, Err: err})
	})
}

func (h *hostActor) handleRemove(ctx actor.Context, msg *RemoveVM) {
	e := h.vms[msg.UUID]
	switch {
	case e == nil:
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s: %w", msg.UUID, errdefs.ErrNotFound)})
		return
	case e.pid == nil && e.failed != nil:
		h.removeFailed(ctx, msg.UUID, e)
		return
	case e.pid == nil:
		// Spawned, or spawned again on a new xenstored connection: the
		// caller tries again.
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s: its actor is being spawned: %w", msg.UUID,
			errdefs.ErrBusy)})
		return
	}
	h.checkRemove(ctx, msg.UUID, e, ctx.Sender(), nil)
}

// checkRemove reads the status of VM uuid, whose entry is e, for its
// removal, once idle is closed (at once when nil) or after statTimeout.
func (h *hostActor) checkRemove(ctx actor.Context, uuid string, e *entry, sender *actor.PID, idle <-chan struct{}) {
	system, self, pid := ctx.ActorSystem(), ctx.Self(), e.pid
	go func() {
		if idle != nil {
			t := time.NewTimer(statTimeout)
			select {
			case <-idle:
			case <-t.C:
			}
			t.Stop()
		}
		sctx, cancel := context.WithTimeout(context.Background(), statTimeout)
		defer cancel()
		st, err := vm.NewClient(system, pid).Stat(sctx)
		system.Root.Send(self, &removeChecked{uuid: uuid, pid: pid, st: st, err: err, sender: sender,
			waited: idle != nil})
	}()
}

func (h *hostActor) handleRemoveChecked(ctx actor.Context, msg *removeChecked) {
	e := h.vms[msg.uuid]
	reply := func(err error) { ctx.Send(msg.sender, &VMReply{Err: err}) }
	switch {
	case e == nil || e.pid != msg.pid:
		reply(fmt.Errorf("host: VM %s: %w", msg.uuid, errdefs.ErrNotFound))
		return
	case msg.err != nil:
		reply(fmt.Errorf("host: VM %s: %w", msg.uuid, msg.err))
		return
	case msg.st.PowerState != vm.Halted:
		reply(fmt.Errorf("host: VM %s is %s, not Halted: %w", msg.uuid, msg.st.PowerState, errdefs.ErrBusy))
		return
	case e.journal.Busy() && !msg.waited:
		// A start may be inside the hypervisor's create: its domain would
		// run on with no VM once the actor is stopped. Most operations
		// of a Halted VM end soon (a state check after a destroy): the
		// status is read again once they did.
		h.checkRemove(ctx, msg.uuid, e, msg.sender, e.journal.Idle())
		return
	case e.journal.Busy():
		reply(fmt.Errorf("host: VM %s has an operation running: %w", msg.uuid, errdefs.ErrBusy))
		return
	}
	reply(h.forget(ctx, msg.uuid, e))
}

// forget deletes the record of VM uuid, whose entry is e, stops its actor
// and announces its removal.
func (h *hostActor) forget(ctx actor.Context, uuid string, e *entry) error {
	e.journal.Close()
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.cfg.StateDir.Delete(dctx, KindVM, uuid); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("host: delete VM %s: %w", uuid, err)
	}
	forgetPower(e)
	delete(h.vms, uuid)
	if e.hasDom && h.byDom[e.domid] == uuid {
		delete(h.byDom, e.domid)
		ctx.Request(h.watches, &watches.UnwatchDomain{DomID: e.domid})
	}
	if e.pid != nil {
		ctx.Stop(e.pid)
	}
	h.forgetIncoming(dctx, uuid)
	// A teardown whose removal of /vm/<uuid> failed leaves it to the
	// sweeps.
	h.removed[uuid] = time.Now()
	ctx.Send(h.events, &events.Removed{ID: vm.ObjectID(uuid)})
	return nil
}

// handleMigrated forgets a VM that moved to another host.
func (h *hostActor) handleMigrated(ctx actor.Context, msg *vmMigrated) {
	e := h.vms[msg.uuid]
	if e == nil {
		return
	}
	if err := h.forget(ctx, msg.uuid, e); err != nil {
		h.cfg.Logger.Error("forgetting a VM migrated away", "vm", msg.uuid, "err", err)
		return
	}
	// Not removed: its domain may run here, under an incoming VM's
	// temporary uuid.
	delete(h.removed, msg.uuid)
	// A VM migrated to this host takes its uuid back.
	for temp, in := range h.incoming {
		if in.rec.For == msg.uuid {
			h.renameIncoming(ctx, temp)
		}
	}
}

func (h *hostActor) handleList(ctx actor.Context) {
	uuids := make([]string, 0, len(h.vms))
	for uuid, e := range h.vms {
		if h.isIncoming(uuid) {
			continue // under its temporary uuid
		}
		if e.pid != nil || e.failed != nil {
			uuids = append(uuids, uuid)
		}
	}
	slices.Sort(uuids)
	infos := make([]VMInfo, len(uuids))
	pids := make([]*actor.PID, len(uuids))
	for i, uuid := range uuids {
		e := h.vms[uuid]
		infos[i].Spec = e.journal.Record().Spec
		pids[i] = e.pid
		if e.pid == nil {
			// Its actor failed: the domain it had, if any, runs on.
			infos[i].Err = e.failed
			if e.hasDom {
				infos[i].DomID = hypervisor.DomID(e.domid)
			}
		}
	}
	system, sender := ctx.ActorSystem(), ctx.Sender()
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), statTimeout)
		defer cancel()
		var wg sync.WaitGroup
		for i := range infos {
			if pids[i] == nil {
				continue
			}
			wg.Go(func() {
				st, err := vm.NewClient(system, pids[i]).Stat(sctx)
				if err != nil {
					infos[i].Err = err
					return
				}
				infos[i].PowerState, infos[i].DomID, infos[i].Err = st.PowerState, st.DomID, st.Err
			})
		}
		wg.Wait()
		system.Root.Send(sender, &ListVMsReply{VMs: infos})
	}()
}

// stat asks VM uuid's status off the mailbox; the answer comes back as a
// vmStatted.
func (h *hostActor) stat(ctx actor.Context, uuid string) {
	e := h.vms[uuid]
	if e == nil || e.pid == nil {
		return
	}
	e.seq++
	system, self, pid, seq := ctx.ActorSystem(), ctx.Self(), e.pid, e.seq
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), statTimeout)
		defer cancel()
		st, err := vm.NewClient(system, pid).Stat(sctx)
		if err == nil {
			system.Root.Send(self, &vmStatted{uuid: uuid, seq: seq, st: st})
		}
	}()
}

// handleStatted keeps the domid map and the per-domain watches in line with
// the VM's status.
func (h *hostActor) handleStatted(ctx actor.Context, msg *vmStatted) {
	e := h.vms[msg.uuid]
	if e == nil || msg.seq <= e.applied {
		return
	}
	e.applied = msg.seq
	notePower(e, msg.st.PowerState)
	has := msg.st.PowerState.HasDomain()
	domid := uint32(msg.st.DomID)
	if e.hasDom && (!has || e.domid != domid) {
		if h.byDom[e.domid] == msg.uuid {
			delete(h.byDom, e.domid)
			ctx.Request(h.watches, &watches.UnwatchDomain{DomID: e.domid})
		}
		e.hasDom = false
	}
	if has && !e.hasDom {
		e.domid, e.hasDom = domid, true
		h.byDom[domid] = msg.uuid
		h.domainLearned(domid, msg.uuid)
		ctx.Request(h.watches, &watches.WatchDomain{DomID: domid})
	}
}

// handleAttention routes a watches notification to the VM of the domain, or
// to every VM for a rescan.
func (h *hostActor) handleAttention(ctx actor.Context, msg *watches.NeedsAttention) {
	if msg.DomID == 0 || msg.Has(watches.WhyRescan) {
		for _, e := range h.vms {
			if e.pid != nil {
				ctx.Send(e.pid, &vm.CheckState{Why: msg.Why})
			}
		}
		return
	}
	uuid, ok := h.byDom[msg.DomID]
	if !ok {
		return
	}
	if e := h.vms[uuid]; e != nil && e.pid != nil {
		ctx.Send(e.pid, &vm.CheckState{Why: msg.Why})
	}
}
