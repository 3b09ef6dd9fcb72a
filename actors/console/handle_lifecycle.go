package console

import (
	"context"
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// handleStarted connects to xenstore, watches @introduceDomain and
// @releaseDomain, and serves every domain that has a console. Failing to,
// it panics with the error, and its supervisor restarts it.
func (d *daemon) handleStarted(ctx actor.Context) {
	d.children = make(map[uint32]*child)
	d.gone = make(map[uint32]uint64)
	d.respawn = make(map[uint32]cons.Info)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	cctx, cancel := context.WithTimeout(d.ctx, DefaultIOTimeout)
	defer cancel()
	xs, err := d.cfg.Dial(cctx)
	if err != nil {
		panic(fmt.Errorf("console: connecting to xenstore: %w: %w", err, errdefs.ErrUnavailable))
	}
	d.xs = xs
	root, self := ctx.ActorSystem().Root, ctx.Self()
	for _, w := range []struct {
		path       string
		introduced bool
	}{{xenstore.WatchIntroduceDomain, true}, {xenstore.WatchReleaseDomain, false}} {
		// With depth 1 the events name the domain (@releaseDomain/<domid>);
		// a xenstored without depths sends the bare path: look at all.
		watch, err := xs.WatchDepth(cctx, w.path, "console", 1)
		if err != nil {
			panic(fmt.Errorf("console: watching %s: %w", w.path, err))
		}
		go forward(d.ctx, watch, w.introduced, func(msg any) { root.Send(self, msg) })
	}
	go func(ctx context.Context) {
		select {
		case <-xs.Done():
			if ctx.Err() == nil {
				root.Send(self, &connLost{err: xs.Err()})
			}
		case <-ctx.Done():
		}
	}(d.ctx)
	// The watches' first events make the daemon look at every domain.
}

// forward turns a watch's events into domainEvents until the watch or ctx
// ends.
func forward(ctx context.Context, w *xenstore.Watch, introduced bool, send func(any)) {
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				return
			}
			msg := &domainEvent{All: true, Introduced: introduced}
			if rest, ok := strings.CutPrefix(ev.Path, w.Path()+"/"); ok {
				if id, ok := xenstore.ParseDomid(rest); ok {
					msg = &domainEvent{DomID: id, Introduced: introduced}
				}
			}
			send(msg)
		case <-ctx.Done():
			return
		}
	}
}

// handleStopping closes the xenstore connection and ends the goroutines;
// the domain actors, its children, stop with it and free their ptys.
func (d *daemon) handleStopping() {
	if d.cancel != nil {
		d.cancel()
	}
	if d.xs != nil {
		_ = d.xs.Close()
		d.xs = nil
	}
}

// handleConnLost restarts the actor, which dials again and looks at every
// domain.
func (d *daemon) handleConnLost(msg *connLost) {
	panic(fmt.Errorf("console: the xenstore connection was lost: %v: %w", msg.err, errdefs.ErrUnavailable))
}

// handleTerminated forgets a domain's actor. One that stopped on its own
// (its domain died) is not served again for the same ring; one to serve
// again with a new ring is spawned now.
func (d *daemon) handleTerminated(ctx actor.Context, msg *actor.Terminated) {
	for domid, c := range d.children {
		if !c.pid.Equal(msg.Who) {
			continue
		}
		delete(d.children, domid)
		if !c.stop {
			d.gone[domid] = c.ringRef
		}
		if info, ok := d.respawn[domid]; ok {
			delete(d.respawn, domid)
			d.spawn(ctx, info)
		}
		return
	}
}

// handleGetConsoles answers the domains served and their ptys.
func (d *daemon) handleGetConsoles(ctx actor.Context) {
	out := &Consoles{TTYs: make(map[uint32]string, len(d.children))}
	for domid, c := range d.children {
		out.TTYs[domid] = c.tty
	}
	ctx.Respond(out)
}

// handleTTYOpened notes a domain actor's pty.
func (d *daemon) handleTTYOpened(msg *ttyOpened) {
	if c, ok := d.children[msg.DomID]; ok {
		c.tty = msg.TTY
	}
}
