package watches

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// domainRegistered reports the watches registered for one domain.
type domainRegistered struct {
	gen, seq uint64
	domid    uint32
	watches  []*xenstore.Watch
	err      error
}

// retryDomain registers a domain again after registration attempt seq failed.
type retryDomain struct {
	domid uint32
	seq   uint64
}

func (w *watcher) handleRetryDomain(ctx actor.Context, msg *retryDomain) {
	d, ok := w.domains[msg.domid]
	if !ok || d.seq != msg.seq || w.client == nil {
		return // unwatched, or re-registered since (a new connection)
	}
	w.register(ctx, d)
}

func (w *watcher) handleWatchDomain(ctx actor.Context, msg *WatchDomain) {
	if _, ok := w.domains[msg.DomID]; !ok {
		d := &domain{id: msg.DomID, recheck: reasonOf(WhyWatched)}
		w.domains[msg.DomID] = d
		if w.client != nil {
			w.register(ctx, d)
		}
	}
	respond(ctx, &Reply{})
}

func (w *watcher) handleUnwatchDomain(ctx actor.Context, msg *UnwatchDomain) {
	if d, ok := w.domains[msg.DomID]; ok {
		delete(w.domains, msg.DomID)
		w.co.cancel(d.sub)
		closeWatches(d.watches)
	}
	respond(ctx, &Reply{})
}

func (w *watcher) handleGetStatus(ctx actor.Context) {
	st := &Status{Connected: w.client != nil, Watched: make([]uint32, 0, len(w.domains))}
	for id, d := range w.domains {
		st.Watched = append(st.Watched, id)
		if d.failures > 0 {
			st.Failing = append(st.Failing, id)
		}
	}
	slices.Sort(st.Watched)
	slices.Sort(st.Failing)
	respond(ctx, st)
}

// respond answers a request; messages sent without a sender get none.
func respond(ctx actor.Context, reply any) {
	if ctx.Sender() != nil {
		ctx.Respond(reply)
	}
}

// register starts registering d's watches on the current connection.
func (w *watcher) register(ctx actor.Context, d *domain) {
	w.seq++ // one counter for all domains: a domain watched again never reuses a seq or token
	d.seq = w.seq
	d.sub = w.co.subscribe(d.id)
	root, self := ctx.ActorSystem().Root, ctx.Self()
	gen, seq, id, sub, c, runCtx := w.gen, d.seq, d.id, d.sub, w.client, w.ctx
	backends, co := w.cfg.backends, w.co
	go func() {
		ws, err := registerDomain(runCtx, c, co, sub, id, seq, backends)
		root.Send(self, &domainRegistered{gen: gen, seq: seq, domid: id, watches: ws, err: err})
	}()
}

func (w *watcher) handleDomainRegistered(ctx actor.Context, msg *domainRegistered) {
	d, ok := w.domains[msg.domid]
	if !ok || d.seq != msg.seq || msg.gen != w.gen {
		closeWatches(msg.watches)
		return
	}
	if msg.err != nil {
		// A lost connection re-registers everything; anything else (a
		// quota, say) is retried after a backoff.
		ctx.Logger().Warn("xenstore watches of a domain not registered", "domid", d.id, "error", msg.err)
		w.co.cancel(d.sub)
		d.sub = nil
		closeWatches(msg.watches)
		d.failures++
		w.after(ctx, w.cfg.backoff.Delay(d.failures, jitter), &retryDomain{domid: d.id, seq: d.seq})
		return
	}
	d.watches = msg.watches
	d.failures = 0
	w.co.add(d.sub, d.id, d.recheck)
	d.recheck = reasonOf(WhyReconnected)
}

// registerDomain watches domid's home and backend directories and forwards
// their events to co while sub is active.
//
// The home is one watch on /local/domain/<domid>, filtered by subpath,
// rather than one per key (device, control, data, attr, memory/target,
// feature, console): the events are the same, since any write below a key
// fires its watch, and the client runs one goroutine per watch (two with
// the forwarder), so three watches per domain instead of nine keep a host
// of hundreds of domains cheap. The cost is events for keys outside the
// list, which are dropped here; a guest can write only where its home's
// permissions let it, within its node quota.
func registerDomain(ctx context.Context, c *xenstore.Client, co *coalescer, sub *subscription,
	domid uint32, seq uint64, backends []string) ([]*xenstore.Watch, error) {
	d := strconv.FormatUint(uint64(domid), 10)
	token := "xenactor/watches/" + d + "/" + strconv.FormatUint(seq, 10)
	home := xenstore.DomainPath(domid)
	paths := []string{home}
	for _, kind := range backends {
		paths = append(paths, xenstore.DomainPath(0)+"/backend/"+kind+"/"+d)
	}
	ws := make([]*xenstore.Watch, 0, len(paths))
	for _, p := range paths {
		x, err := c.Watch(ctx, p, token)
		if err != nil {
			return ws, err
		}
		ws = append(ws, x)
		classify := func(string) (uint32, reasons) { return domid, reasonOf(WhyDevice) }
		if p == home {
			classify = func(path string) (uint32, reasons) { return domid, classifyHome(home, path) }
		}
		go forward(x, co, sub, classify)
	}
	return ws, nil
}

// homeKeys maps the watched keys of a domain's home to their reasons.
var homeKeys = map[string]reasons{
	"device":  reasonOf(WhyDevice),
	"control": reasonOf(WhyControl),
	"data":    reasonOf(WhyData),
	"attr":    reasonOf(WhyAttr),
	"memory":  reasonOf(WhyMemory),
	"feature": reasonOf(WhyFeature),
	"console": reasonOf(WhyConsole),
}

// classifyHome returns the reason of an event at path below home, or none
// for keys not watched.
func classifyHome(home, path string) reasons {
	if path == home || !xenstore.IsChild(path, home) {
		return reasonOf(WhyHome) // the home itself, or spurious: re-check
	}
	key, _, _ := strings.Cut(path[len(home)+1:], "/")
	return homeKeys[key]
}

// forward marks the events of x in co until x's channel closes. The event
// registration fires for the watched path itself is dropped (xenstored
// always sends it, so it cannot be a real event for the plain global
// watches either): the actor notifies what registration may have missed
// ("watched", "reconnected", "rescan") once the watches are registered.
func forward(x *xenstore.Watch, co *coalescer, sub *subscription, classify func(string) (uint32, reasons)) {
	echoed := false
	for ev := range x.Events() {
		if !echoed && ev.Path == x.Path() {
			echoed = true
			continue
		}
		d, r := classify(ev.Path)
		co.add(sub, d, r)
	}
}
