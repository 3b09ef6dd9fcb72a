package host

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// KindReceiving is the state directory kind of the migrations coming in
// from another host, one record per VM (receivingRecord, keyed by its
// uuid), kept from before the VM's own record is written until the
// migration ends either way.
//
// A daemon that dies while it receives a VM must not come back with a
// copy of a VM that still runs on its source: a restarted daemon settles
// each record before it loads the VMs (settleReceiving). An uncommitted
// one (the source still owns the VM) deletes the VM's record, destroys
// the half-received domain of its uuid and removes its xenstore trees; a
// committed one (Committed is written before the destination unpauses the
// domain) keeps the VM, whose actor then adopts the domain. Either way the
// record is deleted last.
const KindReceiving = "receiving"

// receivingRecord is the state directory record of a migration coming in
// from another host.
type receivingRecord struct {
	Committed bool `json:"committed"`
}

// private messages of the migrations from other hosts
type (
	beginReceiving  struct{ uuid string }
	commitReceiving struct{ uuid string }
	endReceiving    struct{ uuid string }
)

// BeginReceiving records that the VM uuid is being received from another
// host, before its record is written (MigrationDestination).
func (c Client) BeginReceiving(ctx context.Context, uuid string) error {
	return c.receiving(ctx, &beginReceiving{uuid: uuid})
}

// CommitReceiving records that the VM uuid received from another host is
// about to be committed (before its domain is unpaused): from now on a
// restarted daemon keeps it.
func (c Client) CommitReceiving(ctx context.Context, uuid string) error {
	return c.receiving(ctx, &commitReceiving{uuid: uuid})
}

// EndReceiving forgets the record of the migration of VM uuid, once it
// succeeded or was cleaned up.
func (c Client) EndReceiving(ctx context.Context, uuid string) error {
	return c.receiving(ctx, &endReceiving{uuid: uuid})
}

func (c Client) receiving(ctx context.Context, msg any) error {
	reply, err := request.Ask[*errReply](ctx, c.system.Root, c.pid, msg, nil)
	if err != nil {
		return err
	}
	return reply.err
}

func (h *hostActor) handleReceiving(ctx actor.Context, uuid string, rec *receivingRecord) {
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if rec == nil {
		err = h.cfg.StateDir.Delete(pctx, KindReceiving, uuid)
		if errdefs.IsNotFound(err) {
			err = nil
		}
	} else {
		err = h.cfg.StateDir.Put(pctx, KindReceiving, uuid, *rec)
	}
	if err != nil {
		err = fmt.Errorf("host: the record of incoming VM %s: %w", uuid, err)
	}
	ctx.Respond(&errReply{err: err})
}

// settleReceiving settles the migrations from other hosts that a daemon
// before this one left unfinished (see KindReceiving).
func (h *hostActor) settleReceiving(ctx context.Context) {
	recs := make(map[string]receivingRecord)
	err := h.cfg.StateDir.Load(ctx, KindReceiving, func(id string, raw json.RawMessage) error {
		var r receivingRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("%w: %w", errdefs.ErrInvalid, err)
		}
		recs[id] = r
		return nil
	})
	if err != nil {
		h.cfg.Logger.Error("loading the migrations from other hosts", "err", err)
	}
	if len(recs) == 0 {
		return
	}
	var doms []hypervisor.DomainInfo
	for uuid, r := range recs {
		if !r.Committed {
			if doms == nil {
				if doms, err = h.cfg.Hypervisor.ListDomains(ctx); err != nil {
					h.cfg.Logger.Error("listing the domains: an unfinished incoming migration is left", "vm", uuid, "err", err)
					continue
				}
			}
			if !h.dropReceived(ctx, uuid, doms) {
				continue
			}
			h.cfg.Logger.Info("a migration from another host did not commit: its VM and domain dropped", "vm", uuid)
		}
		if err := h.cfg.StateDir.Delete(ctx, KindReceiving, uuid); err != nil && !errdefs.IsNotFound(err) {
			h.cfg.Logger.Error("deleting an incoming VM's record", "vm", uuid, "err", err)
		}
	}
}

// dropReceived deletes the record of the VM uuid received in part, and
// destroys the domains of its uuid with their xenstore homes; it reports
// whether all of it went.
func (h *hostActor) dropReceived(ctx context.Context, uuid string, doms []hypervisor.DomainInfo) bool {
	ok := true
	if err := h.cfg.StateDir.Delete(ctx, KindVM, uuid); err != nil && !errdefs.IsNotFound(err) {
		h.cfg.Logger.Error("deleting a VM received in part", "vm", uuid, "err", err)
		ok = false
	}
	for _, d := range doms {
		if d.ID == hypervisor.Dom0 || !strings.EqualFold(d.UUID, uuid) {
			continue
		}
		if err := h.cfg.Hypervisor.Destroy(ctx, d.ID); err != nil && !errdefs.IsNotFound(err) {
			h.cfg.Logger.Error("destroying the domain of a VM received in part", "vm", uuid, "domid", d.ID, "err", err)
			ok = false
			continue
		}
		_ = h.xs.Rm(ctx, "/local/domain/"+strconv.FormatUint(uint64(d.ID), 10))
	}
	_ = h.xs.Rm(ctx, "/vm/"+uuid)
	return ok
}
