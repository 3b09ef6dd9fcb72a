package watches

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// connected reports the connection made by the dial loop of generation gen.
type connected struct {
	gen    uint64
	client *xenstore.Client
}

// disconnected reports that the connection of generation gen is gone.
type disconnected struct {
	gen uint64
}

// globalRegistered reports the global watches registered on generation gen.
type globalRegistered struct {
	gen     uint64
	watches []*xenstore.Watch
	err     error
}

func (w *watcher) handleStarted(ctx actor.Context) {
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.co.run(w.ctx)
	w.startDial(ctx)
}

// handleStopping ends the goroutines and the connection. A restarted actor
// is a new instance: it dials again and has lost its watched domains, so
// consumers re-send WatchDomain (idempotent) on every rescan.
func (w *watcher) handleStopping(_ actor.Context) {
	if w.cancel == nil {
		return
	}
	w.cancel()
	if w.client != nil {
		w.client.Close()
		w.client = nil
	}
}

// startDial begins a new connection generation and dials until it
// connects or the actor stops, with the configured backoff in between.
func (w *watcher) startDial(ctx actor.Context) {
	w.gen++
	gen, root, self := w.gen, ctx.ActorSystem().Root, ctx.Self()
	runCtx, dial, backoff := w.ctx, w.dial, w.cfg.backoff
	go func() {
		for attempt := 1; ; attempt++ {
			c, err := dial(runCtx)
			if err == nil {
				root.Send(self, &connected{gen: gen, client: c})
				return
			}
			t := time.NewTimer(backoff.Delay(attempt, jitter))
			select {
			case <-t.C:
			case <-runCtx.Done():
				t.Stop()
				return
			}
		}
	}()
}

// retryGlobal registers the global watches again on generation gen.
type retryGlobal struct {
	gen uint64
}

func (w *watcher) handleRetryGlobal(ctx actor.Context, msg *retryGlobal) {
	if msg.gen == w.gen && w.client != nil {
		w.registerGlobal(ctx)
	}
}

// after sends msg to the actor itself after delay, unless it stops first.
func (w *watcher) after(ctx actor.Context, delay time.Duration, msg any) {
	root, self, runCtx := ctx.ActorSystem().Root, ctx.Self(), w.ctx
	go func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			root.Send(self, msg)
		case <-runCtx.Done():
		}
	}()
}

// registerGlobal starts registering the global watches on the current
// connection.
func (w *watcher) registerGlobal(ctx actor.Context) {
	root, self, c, gen, runCtx, co := ctx.ActorSystem().Root, ctx.Self(), w.client, w.gen, w.ctx, w.co
	go func() {
		ws, err := registerGlobal(runCtx, c, co)
		root.Send(self, &globalRegistered{gen: gen, watches: ws, err: err})
	}()
}

func (w *watcher) handleConnected(ctx actor.Context, msg *connected) {
	if msg.gen != w.gen || w.ctx.Err() != nil {
		msg.client.Close()
		return
	}
	w.client = msg.client
	root, self, c, gen := ctx.ActorSystem().Root, ctx.Self(), msg.client, msg.gen
	runCtx := w.ctx
	go func() {
		select {
		case <-c.Done():
			root.Send(self, &disconnected{gen: gen})
		case <-runCtx.Done():
		}
	}()
	w.globalFailures = 0
	w.registerGlobal(ctx)
	for _, d := range w.domains {
		w.register(ctx, d)
	}
}

func (w *watcher) handleDisconnected(ctx actor.Context, msg *disconnected) {
	if msg.gen != w.gen || w.client == nil {
		return
	}
	ctx.Logger().Info("xenstore connection lost; re-dialling", "error", w.client.Err())
	w.client.Close()
	w.client = nil
	w.global = nil
	for _, d := range w.domains {
		w.co.cancel(d.sub)
		d.sub, d.watches = nil, nil
		d.failures = 0
		d.seq = 0 // drops registrations in flight; recheck stays "watched" for a domain never registered
	}
	w.startDial(ctx)
}

func (w *watcher) handleGlobalRegistered(ctx actor.Context, msg *globalRegistered) {
	if msg.gen != w.gen {
		closeWatches(msg.watches)
		return
	}
	if msg.err != nil {
		// A lost connection re-registers everything; anything else is
		// retried after a backoff.
		ctx.Logger().Warn("xenstore global watches not registered", "error", msg.err)
		closeWatches(msg.watches)
		w.globalFailures++
		w.after(ctx, w.cfg.backoff.Delay(w.globalFailures, jitter), &retryGlobal{gen: w.gen})
		return
	}
	w.globalFailures = 0
	w.global = msg.watches
	// Domains may have come and gone while no watch was registered.
	w.co.add(nil, 0, reasonOf(WhyRescan))
}

// globalToken is the token of the global watches.
const globalToken = "xenactor/watches/global"

// registerGlobal watches @introduceDomain and @releaseDomain with depth 1,
// or without depth on daemons that refuse it, and forwards their events.
func registerGlobal(ctx context.Context, c *xenstore.Client, co *coalescer) ([]*xenstore.Watch, error) {
	var ws []*xenstore.Watch
	for _, path := range []string{xenstore.WatchIntroduceDomain, xenstore.WatchReleaseDomain} {
		x, err := c.WatchDepth(ctx, path, globalToken, 1)
		var xe *xenstore.Error
		if errors.As(err, &xe) && xe.Errno != xenstore.EEXIST {
			// C xenstored 4.17 has no depth argument: events then
			// carry no domid and ask for a rescan.
			x, err = c.Watch(ctx, path, globalToken)
		}
		if err != nil {
			return ws, err
		}
		ws = append(ws, x)
		go forward(x, co, nil, classifyGlobal)
	}
	return ws, nil
}

// classifyGlobal maps @introduceDomain[/<domid>] and @releaseDomain[/<domid>].
func classifyGlobal(path string) (uint32, reasons) {
	for _, g := range []struct {
		path string
		why  string
	}{{xenstore.WatchIntroduceDomain, WhyIntroduce}, {xenstore.WatchReleaseDomain, WhyRelease}} {
		if path == g.path {
			return 0, reasonOf(WhyRescan)
		}
		if len(path) > len(g.path)+1 && path[:len(g.path)+1] == g.path+"/" {
			if d, ok := xenstore.ParseDomid(path[len(g.path)+1:]); ok {
				return d, reasonOf(g.why)
			}
			return 0, reasonOf(WhyRescan)
		}
	}
	return 0, reasonOf(WhyRescan)
}

// closeWatches removes watches in the background.
func closeWatches(ws []*xenstore.Watch) {
	if len(ws) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		for _, x := range ws {
			_ = x.Close(ctx) // the connection may be gone: then nothing is left to remove
		}
	}()
}
