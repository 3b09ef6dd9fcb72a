package host

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// KindIncoming is the state directory kind of the incoming migrations to
// the same host (localhost migration): one record per VM received under a
// temporary uuid, keyed by that uuid (incomingRecord).
//
// A VM migrated to its own host is received as another VM: a temporary
// uuid names its actor, its record and its /vm path, while its domain is
// created with the VM's real uuid. Once the source's VM is gone (it
// forgot the VM after the commit), the received VM takes the real uuid
// back: its record is written under the real uuid, its actor is stopped
// (its domain runs on) and spawned again under the real uuid, adopting the
// domain, its /vm path moves, and the temporary record and this record
// are deleted, in that order.
//
// A daemon restarted mid-way settles each incoming record before it loads
// the VMs (settleIncoming): a committed one (Committed is written before
// the destination unpauses the domain) rewrites the real uuid's record with
// the received domain, so the source's domain, if still there, is a stray
// of the VM and destroyed; an uncommitted one leaves the real record as it
// is, and the received domain (of the real uuid, not in the record) is the
// stray. Either way the temporary record is deleted, and only then the
// incoming record: exactly one VM remains, and nothing of the temporary
// uuid.
const KindIncoming = "incoming"

// incomingRecord is the state directory record of an incoming migration
// to the same host, keyed by the temporary uuid.
type incomingRecord struct {
	// For is the VM's real uuid.
	For string `json:"for"`
	// Committed is set once the destination committed: the received
	// domain is the VM.
	Committed bool `json:"committed"`
}

// incomingVM is the host's state of one incoming migration to the same
// host, keyed by the temporary uuid.
type incomingVM struct {
	rec incomingRecord
	// finish is set once the migration succeeded: the VM takes the real
	// uuid back as soon as the source's VM is gone.
	finish bool
	// renaming is set while the actor of the temporary uuid stops.
	renaming bool
}

// private messages of the incoming migrations to the same host
type (
	addIncoming struct{ spec vm.Spec }
	// addIncomingReply answers addIncoming.
	addIncomingReply struct {
		pid  *actor.PID
		temp string
		err  error
	}
	commitIncoming struct{ temp string }
	finishIncoming struct{ temp string }
	// incomingStopped says the actor of the temporary uuid stopped for the
	// VM to take its real uuid back.
	incomingStopped struct {
		temp string
		e    *entry
		rec  vm.Record
	}
	// errReply answers with an error or nil.
	errReply struct{ err error }
)

// AddIncomingVM registers the VM of spec, which the host already has (a
// migration to the same host), under a temporary uuid, and returns a
// client of its actor and that uuid. Its domains are created with spec's
// uuid. The VM is not listed (ListVMs) while it has the temporary uuid.
func (c Client) AddIncomingVM(ctx context.Context, spec vm.Spec) (vm.Client, string, error) {
	reply, err := request.Ask[*addIncomingReply](ctx, c.system.Root, c.pid, &addIncoming{spec: spec}, nil)
	if err != nil {
		return vm.Client{}, "", err
	}
	if reply.err != nil {
		return vm.Client{}, "", reply.err
	}
	return vm.NewClient(c.system, reply.pid), reply.temp, nil
}

// CommitIncoming records that the incoming VM of the temporary uuid temp
// is about to be committed (before its domain is unpaused): from now on a
// restarted daemon keeps it rather than the source's.
func (c Client) CommitIncoming(ctx context.Context, temp string) error {
	reply, err := request.Ask[*errReply](ctx, c.system.Root, c.pid, &commitIncoming{temp: temp}, nil)
	if err != nil {
		return err
	}
	return reply.err
}

// FinishIncoming tells the host that the migration of the incoming VM of
// the temporary uuid temp succeeded: the VM takes its real uuid back once
// the source's VM is gone. It returns at once.
func (c Client) FinishIncoming(temp string) {
	c.system.Root.Send(c.pid, &finishIncoming{temp: temp})
}

// newTempUUID returns a random (version 4) uuid.
func newTempUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	return hypervisor.FormatUUID(u)
}

func (h *hostActor) handleAddIncoming(ctx actor.Context, msg *addIncoming) {
	answer := func(r *addIncomingReply) { ctx.Respond(r) }
	real := msg.spec.UUID
	if real == "" || h.vms[real] == nil {
		answer(&addIncomingReply{err: fmt.Errorf("host: VM %q is not on this host: %w", real, errdefs.ErrNotFound)})
		return
	}
	temp := newTempUUID()
	spec := msg.spec
	spec.UUID = temp
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ir := incomingRecord{For: real}
	if err := h.cfg.StateDir.Put(pctx, KindIncoming, temp, ir); err != nil {
		answer(&addIncomingReply{err: fmt.Errorf("host: persist incoming VM %s: %w", real, err)})
		return
	}
	rec := vm.Record{Spec: spec}
	if err := h.cfg.StateDir.Put(pctx, KindVM, temp, rec); err != nil {
		_ = h.cfg.StateDir.Delete(pctx, KindIncoming, temp)
		answer(&addIncomingReply{err: fmt.Errorf("host: persist incoming VM %s: %w", real, err)})
		return
	}
	h.incoming[temp] = &incomingVM{rec: ir}
	sender := ctx.Sender()
	e := &entry{journal: vm.NewJournal(rec, h.saveFunc(temp)), domainUUID: real}
	h.spawnEntry(ctx, e, rec, nil, func(pid *actor.PID, err error) {
		if err != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = h.cfg.StateDir.Delete(dctx, KindVM, temp)
			_ = h.cfg.StateDir.Delete(dctx, KindIncoming, temp)
			delete(h.incoming, temp)
		}
		ctx.Send(sender, &addIncomingReply{pid: pid, temp: temp, err: err})
	})
}

func (h *hostActor) handleCommitIncoming(ctx actor.Context, msg *commitIncoming) {
	in := h.incoming[msg.temp]
	if in == nil {
		ctx.Respond(&errReply{err: fmt.Errorf("host: incoming VM %s: %w", msg.temp, errdefs.ErrNotFound)})
		return
	}
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := in.rec
	rec.Committed = true
	if err := h.cfg.StateDir.Put(pctx, KindIncoming, msg.temp, rec); err != nil {
		ctx.Respond(&errReply{err: fmt.Errorf("host: persist the commit of incoming VM %s: %w", rec.For, err)})
		return
	}
	in.rec = rec
	ctx.Respond(&errReply{})
}

func (h *hostActor) handleFinishIncoming(ctx actor.Context, msg *finishIncoming) {
	if in := h.incoming[msg.temp]; in != nil {
		in.finish = true
		h.renameIncoming(ctx, msg.temp)
	}
}

// renameIncoming gives the incoming VM of the temporary uuid temp its real
// uuid back, if its migration finished and the source's VM is gone; its
// receive operation must have ended too, else it tries again shortly.
func (h *hostActor) renameIncoming(ctx actor.Context, temp string) {
	in := h.incoming[temp]
	if in == nil || !in.finish || in.renaming || h.vms[in.rec.For] != nil {
		return
	}
	e := h.vms[temp]
	if e == nil {
		return
	}
	rec := e.journal.Record()
	if e.pid == nil || rec.Op != nil {
		system, self := ctx.ActorSystem(), ctx.Self()
		time.AfterFunc(20*time.Millisecond, func() { system.Root.Send(self, &finishIncoming{temp: temp}) })
		return
	}
	real := in.rec.For
	rec.Spec.UUID = real
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.cfg.StateDir.Put(pctx, KindVM, real, rec); err != nil {
		h.cfg.Logger.Error("an incoming VM could not take its uuid back; the daemon's next start does it",
			"vm", real, "temp", temp, "err", err)
		return
	}
	in.renaming = true
	e.journal.Close()
	forgetPower(e)
	delete(h.vms, temp)
	if e.hasDom && h.byDom[e.domid] == temp {
		delete(h.byDom, e.domid)
	}
	ctx.Send(h.events, &events.Removed{ID: vm.ObjectID(temp)})
	system, self, pid := ctx.ActorSystem(), ctx.Self(), e.pid
	go func() {
		_ = system.Root.StopFuture(pid).Wait()
		system.Root.Send(self, &incomingStopped{temp: temp, e: e, rec: rec})
	}()
}

// handleIncomingStopped ends the renaming of an incoming VM once the actor
// of its temporary uuid stopped: the VM's actor is spawned under its real
// uuid and adopts the domain.
func (h *hostActor) handleIncomingStopped(ctx actor.Context, msg *incomingStopped) {
	real := msg.rec.Spec.UUID
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if msg.rec.DomID != 0 {
		if err := moveVMPath(dctx, h.xs, msg.rec.DomID, msg.temp, msg.rec.Spec); err != nil {
			h.cfg.Logger.Warn("moving an incoming VM's /vm path", "vm", real, "err", err)
		}
	}
	if err := h.cfg.StateDir.Delete(dctx, KindVM, msg.temp); err != nil && !errdefs.IsNotFound(err) {
		h.cfg.Logger.Error("deleting an incoming VM's temporary record", "vm", real, "temp", msg.temp, "err", err)
	}
	if err := h.cfg.StateDir.Delete(dctx, KindIncoming, msg.temp); err != nil && !errdefs.IsNotFound(err) {
		h.cfg.Logger.Error("deleting an incoming VM's record", "vm", real, "temp", msg.temp, "err", err)
	}
	delete(h.incoming, msg.temp)
	h.spawn(ctx, msg.rec, nil, func(_ *actor.PID, err error) {
		if err != nil {
			h.cfg.Logger.Error("spawning the actor of a VM migrated to this host", "vm", real, "err", err)
			return
		}
		ctx.Send(h.events, &events.Changed{ID: vm.ObjectID(real)})
	})
}

// forgetIncoming deletes the incoming record of the temporary uuid temp,
// if it has one: its VM was forgotten (the migration failed).
func (h *hostActor) forgetIncoming(ctx context.Context, temp string) {
	if _, ok := h.incoming[temp]; !ok {
		return
	}
	delete(h.incoming, temp)
	if err := h.cfg.StateDir.Delete(ctx, KindIncoming, temp); err != nil && !errdefs.IsNotFound(err) {
		h.cfg.Logger.Error("deleting an incoming VM's record", "temp", temp, "err", err)
	}
}

// isIncoming reports whether uuid is the temporary uuid of an incoming VM.
func (h *hostActor) isIncoming(uuid string) bool {
	_, ok := h.incoming[uuid]
	return ok
}

// moveVMPath moves domain domid's /vm/<temp> to /vm/<spec.UUID> and points
// its home's vm key there.
func moveVMPath(ctx context.Context, xs *xenstore.Client, domid hypervisor.DomID, temp string, spec vm.Spec) error {
	d := uint32(domid)
	guestRead := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: d, Access: xenstore.AccessRead}}
	return xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		to := "/vm/" + spec.UUID
		if err := tx.MkdirPerms(ctx, to, guestRead); err != nil {
			return err
		}
		if err := tx.WriteKeys(ctx, to, [][2]string{{"uuid", spec.UUID}, {"name", spec.Name}}); err != nil {
			return err
		}
		home := xenstore.DomainPath(d)
		if err := tx.Write(ctx, home+"/vm", []byte(to)); err != nil {
			return err
		}
		if err := tx.Rm(ctx, "/vm/"+temp); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		return nil
	})
}

// settleIncoming settles the incoming migrations to the same host that a
// previous daemon left (KindIncoming), before the VMs are loaded: see
// KindIncoming.
func (h *hostActor) settleIncoming(ctx context.Context) {
	recs := make(map[string]incomingRecord)
	err := h.cfg.StateDir.Load(ctx, KindIncoming, func(id string, raw json.RawMessage) error {
		var r incomingRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("%w: %w", errdefs.ErrInvalid, err)
		}
		recs[id] = r
		return nil
	})
	if err != nil {
		h.cfg.Logger.Error("loading the incoming migrations", "err", err)
	}
	for temp, ir := range recs {
		var rec vm.Record
		err := h.cfg.StateDir.Get(ctx, KindVM, temp, &rec)
		switch {
		case errdefs.IsNotFound(err):
			// Never made, or already renamed.
		case err != nil:
			h.cfg.Logger.Error("reading an incoming VM's record", "temp", temp, "err", err)
			continue
		case ir.Committed && ir.For != "":
			rec.Spec.UUID = ir.For
			rec.Op = nil
			if err := h.cfg.StateDir.Put(ctx, KindVM, ir.For, rec); err != nil {
				h.cfg.Logger.Error("an incoming VM could not take its uuid back", "vm", ir.For, "err", err)
				continue
			}
			if rec.DomID != 0 {
				if err := moveVMPath(ctx, h.xs, rec.DomID, temp, rec.Spec); err != nil {
					h.cfg.Logger.Warn("moving an incoming VM's /vm path", "vm", ir.For, "err", err)
				}
			}
			h.cfg.Logger.Info("a VM migrated to this host took its uuid back", "vm", ir.For,
				"domid", strconv.FormatUint(uint64(rec.DomID), 10))
		default:
			h.cfg.Logger.Info("an incoming migration to this host did not commit: dropped", "vm", ir.For)
			_ = h.xs.Rm(ctx, "/vm/"+temp)
		}
		if err := h.cfg.StateDir.Delete(ctx, KindVM, temp); err != nil && !errdefs.IsNotFound(err) {
			h.cfg.Logger.Error("deleting an incoming VM's temporary record", "temp", temp, "err", err)
			continue
		}
		if err := h.cfg.StateDir.Delete(ctx, KindIncoming, temp); err != nil && !errdefs.IsNotFound(err) {
			h.cfg.Logger.Error("deleting an incoming VM's record", "temp", temp, "err", err)
		}
	}
}
