package console

import (
	"context"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleDomainEvent looks at the domain a watch event names, or at every
// domain.
func (d *daemon) handleDomainEvent(ctx actor.Context, msg *domainEvent) {
	if d.xs == nil {
		return
	}
	rctx, cancel := context.WithTimeout(d.ctx, DefaultIOTimeout)
	defer cancel()
	if !msg.All {
		if msg.Introduced {
			delete(d.gone, msg.DomID)
		}
		d.reconcile(rctx, ctx, msg.DomID)
		if !msg.Introduced {
			d.pruneGone(rctx)
		}
		return
	}
	ids, err := cons.Domains(rctx, d.xs)
	if err != nil {
		d.log.Warn("console: listing the domains failed", "err", err)
		return
	}
	listed := make(map[uint32]bool, len(ids))
	for _, id := range ids {
		listed[id] = true
		d.reconcile(rctx, ctx, id)
	}
	for id := range d.gone {
		if !listed[id] {
			delete(d.gone, id)
		}
	}
	for id := range d.children {
		if !listed[id] {
			d.stopChild(ctx, id)
		}
	}
}

// reconcile serves domain domid's console if it has one the daemon
// serves, and stops serving it otherwise. A domain already served is
// polled at once (a release may be its last words); one whose ring changed
// is served afresh.
func (d *daemon) reconcile(rctx context.Context, ctx actor.Context, domid uint32) {
	info, err := cons.Lookup(rctx, d.xs, domid)
	switch {
	case errdefs.IsNotFound(err):
		delete(d.gone, domid)
		d.stopChild(ctx, domid)
		return
	case err != nil:
		d.log.Warn("console: reading the console keys failed", "domid", domid, "err", err)
		return
	case !info.Served():
		d.stopChild(ctx, domid)
		return
	}
	if ref, ok := d.gone[domid]; ok && ref == info.RingRef {
		return
	}
	delete(d.gone, domid)
	c, ok := d.children[domid]
	switch {
	case !ok:
		d.spawn(ctx, info)
	case c.stop:
		d.respawn[domid] = info
	case c.ringRef != info.RingRef:
		d.stopChild(ctx, domid)
		d.respawn[domid] = info
	default:
		ctx.Send(c.pid, &pollDue{})
	}
}

// pruneGone forgets the dead domains whose console keys are gone.
func (d *daemon) pruneGone(rctx context.Context) {
	for id := range d.gone {
		if _, err := cons.Lookup(rctx, d.xs, id); errdefs.IsNotFound(err) {
			delete(d.gone, id)
		}
	}
}

// spawn starts the actor of info's domain.
func (d *daemon) spawn(ctx actor.Context, info cons.Info) {
	name := strconv.FormatUint(uint64(info.DomID), 10)
	pid, err := ctx.SpawnNamed(domainProps(d.cfg, d.xs, info), name)
	if err != nil {
		d.log.Warn("console: spawning a domain's console failed", "domid", info.DomID, "err", err)
		return
	}
	d.children[info.DomID] = &child{pid: pid, ringRef: info.RingRef}
}

// stopChild stops the actor of domain domid, if any.
func (d *daemon) stopChild(ctx actor.Context, domid uint32) {
	delete(d.respawn, domid)
	if c, ok := d.children[domid]; ok && !c.stop {
		c.stop = true
		ctx.Stop(c.pid)
	}
}
