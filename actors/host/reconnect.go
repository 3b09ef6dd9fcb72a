package host

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// The bounds of the backoff between attempts to dial xenstored again.
const (
	redialMin = 50 * time.Millisecond
	redialMax = 5 * time.Second
)

// private messages of the reconnection
type (
	// xsLost says the VM actors' connection to xenstored is gone.
	xsLost struct{ xs *xenstore.Client }
	// xsRedialed hands over the new connection.
	xsRedialed struct{ xs *xenstore.Client }
	// vmStopped says a VM actor stopped for its respawn on a new connection.
	vmStopped struct {
		uuid string
		e    *entry
	}
)

// watchXS sends xsLost when xs's connection is gone, unless life ended.
func (h *hostActor) watchXS(ctx actor.Context, life context.Context, xs *xenstore.Client) {
	system, self := ctx.ActorSystem(), ctx.Self()
	go func() {
		select {
		case <-xs.Done():
			system.Root.Send(self, &xsLost{xs: xs})
		case <-life.Done():
		}
	}()
}

// handleXSLost dials xenstored again, with a bounded backoff, until it
// answers or the host stops. Meanwhile the VM actors' operations fail with
// the connection's error (errdefs.ErrUnavailable).
func (h *hostActor) handleXSLost(ctx actor.Context, msg *xsLost) {
	if msg.xs != h.xs {
		return
	}
	h.cfg.Logger.Warn("the connection to xenstored is lost; dialling again", "err", msg.xs.Err())
	system, self, life, dial, log := ctx.ActorSystem(), ctx.Self(), h.life, h.cfg.Dial, h.cfg.Logger
	go func() {
		delay := redialMin
		for attempt := 1; ; attempt++ {
			dctx, cancel := context.WithTimeout(life, 10*time.Second)
			xs, err := dial(dctx)
			cancel()
			if err == nil {
				system.Root.Send(self, &xsRedialed{xs: xs})
				return
			}
			log.Warn("dialling xenstored", "attempt", attempt, "err", err)
			select {
			case <-life.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, redialMax)
		}
	}()
}

// handleXSRedialed takes the new connection and respawns every VM actor on
// it: each new actor starts from its journal, adopts its domain and checks
// it, so whatever happened while xenstored was unreachable is seen. The
// operations that were running fail (they had lost their connection).
func (h *hostActor) handleXSRedialed(ctx actor.Context, msg *xsRedialed) {
	if h.life.Err() != nil {
		_ = msg.xs.Close()
		return
	}
	old := h.xs
	h.xs = msg.xs
	_ = old.Close()
	h.watchXS(ctx, h.life, h.xs)
	// Removals that met the lost connection are done again on this one.
	h.sweep(ctx)
	h.cfg.Logger.Info("xenstored is back; respawning the VM actors on the new connection", "vms", len(h.vms))
	system, self := ctx.ActorSystem(), ctx.Self()
	for uuid, e := range h.vms {
		if e.pid == nil {
			continue
		}
		pid := e.pid
		e.pid = nil
		go func() {
			_ = system.Root.StopFuture(pid).Wait()
			system.Root.Send(self, &vmStopped{uuid: uuid, e: e})
		}()
	}
}

func (h *hostActor) handleVMStopped(ctx actor.Context, msg *vmStopped) {
	if h.vms[msg.uuid] != msg.e {
		return
	}
	h.spawnActor(ctx, msg.e, nil, func(_ *actor.PID, err error) {
		if err != nil {
			h.cfg.Logger.Error("respawning a VM actor on the new xenstored connection", "vm", msg.uuid, "err", err)
		}
	})
}
