package host

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/supervisors"
)

// A VM actor that stops by itself (its supervisor gave up on it, or a
// panic's kind told it to stop) is noticed by the host through the
// Terminated its parent, domains, forwards: the VM reads as failed
// (ListVMs and VM give the reason) and its actor is spawned again from its
// journal after a backoff, adopting its domain. After MaxRespawns respawns
// within respawnWindow the host gives up on the VM; RemoveVM then destroys
// its domains and forgets it.

// DefaultMaxRespawns is Config.MaxRespawns when unset.
const DefaultMaxRespawns = 3

// DefaultRespawnBackoff is Config.RespawnBackoff when unset.
var DefaultRespawnBackoff = supervisors.Backoff{Base: time.Second, Max: 30 * time.Second}

// respawnWindow is the window MaxRespawns counts respawns in.
const respawnWindow = 10 * time.Minute

// private messages of the respawns
type (
	// vmGivenUp says the VM actors' supervisor stopped child for good.
	vmGivenUp struct {
		pid    *actor.PID
		reason any
	}
	// vmTerminated says a VM actor stopped (domains forwards it).
	vmTerminated struct{ pid *actor.PID }
	// vmRespawn asks for the respawn of e's actor.
	vmRespawn struct {
		uuid string
		e    *entry
	}
	// failedRemoved ends the removal of a VM given up on.
	failedRemoved struct {
		uuid   string
		e      *entry
		err    error
		sender *actor.PID
	}
)

// byPID returns the VM whose actor is pid.
func (h *hostActor) byPID(pid *actor.PID) (string, *entry) {
	for uuid, e := range h.vms {
		if e.pid != nil && e.pid.Equal(pid) {
			return uuid, e
		}
	}
	return "", nil
}

func (h *hostActor) handleGivenUp(msg *vmGivenUp) {
	if _, e := h.byPID(msg.pid); e != nil {
		e.lastFailure = strings.TrimSpace(fmt.Sprint(msg.reason))
	}
}

// handleTerminated notes that a VM actor the host did not stop is gone and
// schedules its respawn, or gives up on the VM.
func (h *hostActor) handleTerminated(ctx actor.Context, msg *vmTerminated) {
	uuid, e := h.byPID(msg.pid)
	if e == nil || h.life.Err() != nil {
		return // stopped by the host: removed, migrated, respawned on a new connection, or the host stops
	}
	if _, alive := ctx.ActorSystem().ProcessRegistry.Get(msg.pid); alive {
		// The Terminated of an incarnation the host stopped (on a
		// xenstored re-dial), which arrives once the next one, of the
		// same name, runs.
		return
	}
	e.pid = nil
	reason := e.lastFailure
	if reason == "" {
		reason = "it stopped"
	}
	now := time.Now()
	kept := e.respawns[:0]
	for _, at := range e.respawns {
		if now.Sub(at) < respawnWindow {
			kept = append(kept, at)
		}
	}
	e.respawns = kept
	limit := h.cfg.MaxRespawns
	if limit == 0 {
		limit = DefaultMaxRespawns
	}
	if len(e.respawns) >= limit {
		e.failed = fmt.Errorf("host: VM %s: its actor failed (%s) and was respawned %d times within %s: "+
			"given up on; remove the VM to destroy its domain: %w", uuid, reason, len(e.respawns), respawnWindow,
			errdefs.ErrUnavailable)
		e.givenUp = true
		h.cfg.Logger.Error("VM actor given up on", "vm", uuid, "reason", reason, "respawns", len(e.respawns))
		return
	}
	backoff := h.cfg.RespawnBackoff
	if backoff == (supervisors.Backoff{}) {
		backoff = DefaultRespawnBackoff
	}
	delay := backoff.Delay(len(e.respawns)+1, nil)
	e.failed = fmt.Errorf("host: VM %s: its actor failed (%s); respawning it in %s: %w", uuid, reason,
		delay.Round(time.Millisecond), errdefs.ErrUnavailable)
	h.cfg.Logger.Warn("VM actor failed; respawning it", "vm", uuid, "reason", reason, "delay", delay)
	h.scheduleRespawn(ctx, uuid, e, delay)
}

// scheduleRespawn asks for the respawn of e's actor after delay.
func (h *hostActor) scheduleRespawn(ctx actor.Context, uuid string, e *entry, delay time.Duration) {
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(delay, func() { system.Root.Send(self, &vmRespawn{uuid: uuid, e: e}) })
}

func (h *hostActor) handleRespawn(ctx actor.Context, msg *vmRespawn) {
	e := msg.e
	if h.vms[msg.uuid] != e || e.pid != nil || e.failed == nil || e.givenUp || e.removing || h.life.Err() != nil {
		return
	}
	e.respawns = append(e.respawns, time.Now())
	e.lastFailure = ""
	h.spawnActor(ctx, e, nil, func(_ *actor.PID, err error) {
		if err != nil {
			e.failed = fmt.Errorf("host: VM %s: respawning its actor: %w", msg.uuid, err)
			return
		}
		e.failed = nil
		h.cfg.Logger.Info("VM actor respawned", "vm", msg.uuid)
	})
}

// removeFailed removes VM uuid, whose actor is gone after a failure: once
// the operations of its old incarnations ended (or statTimeout passed), its
// domains are destroyed and their xenstore trees removed, then the VM is
// forgotten.
func (h *hostActor) removeFailed(ctx actor.Context, uuid string, e *entry) {
	if e.removing {
		ctx.Respond(&VMReply{Err: fmt.Errorf("host: VM %s is being removed: %w", uuid, errdefs.ErrBusy)})
		return
	}
	e.removing = true // no respawn meanwhile
	system, self, sender := ctx.ActorSystem(), ctx.Self(), ctx.Sender()
	hv, xs, idle := h.cfg.Hypervisor, h.xs, e.journal.Idle()
	go func() {
		t := time.NewTimer(statTimeout)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
		var err error
		if e.journal.Busy() {
			err = fmt.Errorf("host: VM %s has an operation running: %w", uuid, errdefs.ErrBusy)
		} else {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = destroyDomainsOf(dctx, hv, xs, uuid)
			cancel()
		}
		system.Root.Send(self, &failedRemoved{uuid: uuid, e: e, err: err, sender: sender})
	}()
}

func (h *hostActor) handleFailedRemoved(ctx actor.Context, msg *failedRemoved) {
	reply := func(err error) { ctx.Send(msg.sender, &VMReply{Err: err}) }
	e := msg.e
	e.removing = false
	switch {
	case h.vms[msg.uuid] != e || e.pid != nil:
		reply(fmt.Errorf("host: VM %s: %w", msg.uuid, errdefs.ErrNotFound))
	case msg.err != nil:
		if !e.givenUp {
			h.scheduleRespawn(ctx, msg.uuid, e, 0)
		}
		reply(msg.err)
	default:
		reply(h.forget(ctx, msg.uuid, msg.e))
	}
}

// destroyDomainsOf destroys every domain with uuid and removes the xenstore
// trees of each, and /vm/<uuid>.
func destroyDomainsOf(ctx context.Context, hv hypervisor.Hypervisor, xs *xenstore.Client, uuid string) error {
	doms, err := hv.ListDomains(ctx)
	if err != nil {
		return fmt.Errorf("host: destroy the domains of VM %s: %w", uuid, err)
	}
	for _, d := range doms {
		if d.ID == hypervisor.Dom0 || !strings.EqualFold(d.UUID, uuid) {
			continue
		}
		_ = hv.Pause(ctx, d.ID)
		if err := hv.Destroy(ctx, d.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("host: destroy domain %d of VM %s: %w", d.ID, uuid, err)
		}
		if err := removeDomainTrees(ctx, xs, uint32(d.ID)); err != nil {
			return fmt.Errorf("host: the xenstore trees of domain %d of VM %s: %w", d.ID, uuid, err)
		}
	}
	if err := rmIfExists(ctx, xs, "/vm/"+uuid); err != nil {
		return fmt.Errorf("host: /vm/%s: %w", uuid, err)
	}
	return nil
}
