package sim

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// guestHooks is what a simulated kernel asks of the simulated hypervisor.
type guestHooks struct {
	// shutdown is SCHEDOP_shutdown: the guest stops with a reason
	// ("poweroff", "reboot", "suspend", "crash").
	shutdown func(reason string)
	// balloon sets the guest's memory after it followed memory/target.
	balloon func(kib uint64)
	// print writes to the guest's PV console (console.go); nil prints
	// nothing.
	print func(text string)
	// remember keeps the unique-domain-id the guest agent saw in the
	// domain's memory (kernel.go); nil keeps it nowhere.
	remember func(uid string)
}

// agentState is what a guest agent knows as its kernel starts: whether the
// kernel resumes (from a saved image, here or on another host) and the
// unique-domain-id it last saw, from the domain's memory.
type agentState struct {
	resumed bool
	lastUID string
}

// guest is one simulated guest kernel running on its own domain
// connection. Everything it does goes through that connection, as a real
// guest's xenbus does through its ring.
type guest struct {
	domid   uint32
	home    string
	p       Profile
	xs      *xenstore.Client
	hooks   guestHooks
	faults  *Faults
	log     *slog.Logger
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	// Owned by the event loop.
	devs    map[DeviceKey]xenbus.State // frontend state this kernel last wrote
	drivers map[DeviceClass]bool       // frontend drivers that said hello on the console
	gref    int
	acked   bool
	timers  []*time.Timer
	timerMu sync.Mutex

	pauseMu sync.Mutex
	resumed chan struct{} // non-nil while paused; closed on unpause

	// The guest agent (agent.go): what it knew as the kernel started, and
	// its reporter (the unique-domain-id it last saw and what it last
	// wrote, as XenServer's xe-daemon caches them); agentMu serialises
	// its rounds.
	agentMu  sync.Mutex
	agent    agentState
	reporter *guestagent.Reporter
}

// setPaused freezes or thaws the kernel: a paused domain runs no code, so
// its watch events wait (coalescing) until it is unpaused.
func (g *guest) setPaused(paused bool) {
	g.pauseMu.Lock()
	defer g.pauseMu.Unlock()
	switch {
	case paused && g.resumed == nil:
		g.resumed = make(chan struct{})
	case !paused && g.resumed != nil:
		close(g.resumed)
		g.resumed = nil
	}
}

// waitRunning blocks while the domain is paused; false if it stopped.
func (g *guest) waitRunning() bool {
	g.pauseMu.Lock()
	ch := g.resumed
	g.pauseMu.Unlock()
	if ch == nil {
		return g.running()
	}
	select {
	case <-ch:
		return g.running()
	case <-g.stopped:
		return false
	}
}

// shutdownReasons are the control/shutdown requests a Linux kernel honours,
// with the reason it shuts down with. halt is a poweroff.
var shutdownReasons = map[string]string{"poweroff": "poweroff", "halt": "poweroff", "reboot": "reboot",
	"suspend": "suspend"}

func startGuest(domid uint32, p Profile, xs *xenstore.Client, hooks guestHooks, faults *Faults, log *slog.Logger,
	agent agentState) (*guest, error) {
	g := &guest{domid: domid, home: xenstore.DomainPath(domid), p: p, xs: xs, hooks: hooks, faults: faults,
		log: log.With("domid", domid, "profile", p.Name), stopped: make(chan struct{}), devs: make(map[DeviceKey]xenbus.State),
		drivers: make(map[DeviceClass]bool), agent: agent}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p.PVDrivers {
		home, err := xs.Watch(ctx, g.home, "home")
		if err != nil {
			return nil, err
		}
		// Each frontend watches its own otherend: the backends of this
		// domain only, so a guest costs nothing on other guests' changes.
		var be [2]*xenstore.Watch
		for i, class := range []DeviceClass{VBD, VIF} {
			path := "/local/domain/0/backend/" + string(class) + "/" + strconv.FormatUint(uint64(domid), 10)
			if be[i], err = xs.Watch(ctx, path, "backend-"+string(class)); err != nil {
				return nil, err
			}
		}
		// Linux's xenbus advertises what its shutdown handler supports.
		for _, f := range []string{"feature-poweroff", "feature-reboot", "feature-suspend"} {
			g.ignore(xs.Write(ctx, "control/"+f, []byte("1")))
		}
		g.wg.Add(1)
		go g.loop(home, be)
	}
	if p.Agent != "" {
		g.startAgent(ctx)
	}
	if p.Junk {
		g.every(0, g.writeJunk)
	}
	if p.FillQuota {
		g.later(0, g.fillQuota)
	}
	if p.FlapFrontends {
		g.every(0, g.flap)
	}
	if p.CrashAfter > 0 {
		g.later(p.CrashAfter, func() { g.hooks.shutdown("crash") })
	}
	return g, nil
}

// stop ends the kernel: the domain no longer runs. Idempotent.
func (g *guest) stop() {
	g.once.Do(func() {
		close(g.stopped)
		g.timerMu.Lock()
		for _, t := range g.timers {
			t.Stop()
		}
		g.timerMu.Unlock()
		g.xs.Close()
		g.wg.Wait()
	})
}

func (g *guest) running() bool {
	select {
	case <-g.stopped:
		return false
	default:
		return true
	}
}

// later runs fn once after d, unless the guest stopped.
func (g *guest) later(d time.Duration, fn func()) {
	g.timerMu.Lock()
	defer g.timerMu.Unlock()
	if !g.running() {
		return
	}
	g.timers = append(g.timers, time.AfterFunc(d, func() {
		if g.waitRunning() {
			fn()
		}
	}))
}

// every runs fn after d and then every agent interval, re-arming one
// timer: no polling loop, so an idle guest costs nothing between reports.
func (g *guest) every(d time.Duration, fn func()) {
	g.timerMu.Lock()
	defer g.timerMu.Unlock()
	if !g.running() {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		if !g.waitRunning() {
			return
		}
		fn()
		g.timerMu.Lock()
		defer g.timerMu.Unlock()
		if g.running() {
			t.Reset(g.interval())
		}
	})
	g.timers = append(g.timers, t)
}

func (g *guest) interval() time.Duration {
	if g.p.AgentInterval > 0 {
		return g.p.AgentInterval
	}
	return 60 * time.Second
}

// print writes text to the guest's console.
func (g *guest) print(text string) {
	if g.hooks.print != nil && text != "" {
		g.hooks.print(text)
	}
}

func (g *guest) ignore(err error) {
	if err != nil && g.running() {
		g.log.Debug("simulated guest xenstore call failed", "err", err)
	}
}

func (g *guest) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// loop handles the kernel's watch events until the guest stops.
func (g *guest) loop(home *xenstore.Watch, be [2]*xenstore.Watch) {
	defer g.wg.Done()
	var ev xenstore.WatchEvent
	var ok, fromHome bool
	for {
		select {
		case <-g.stopped:
			return
		case ev, ok = <-home.Events():
			fromHome = true
		case ev, ok = <-be[0].Events():
			fromHome = false
		case ev, ok = <-be[1].Events():
			fromHome = false
		}
		if !ok || !g.waitRunning() {
			return
		}
		if fromHome {
			g.onHome(ev.Path)
		} else if k, ok := parseDevicePath(ev.Path); ok && k.Frontend == g.domid {
			g.frontend(k)
		}
	}
}

func (g *guest) onHome(path string) {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, g.home), "/")
	switch {
	case rel == "":
		// The watch's first event (or the home remade): a request
		// written before the kernel ran is seen now, as Linux's shutdown
		// watch sees one on its first event.
		g.scanDevices()
		g.onShutdownRequest()
	case rel == "device":
		g.scanDevices()
	case rel == "control/shutdown":
		g.onShutdownRequest()
	case rel == "memory/target":
		g.onMemoryTarget()
	case rel == "unique-domain-id" && g.p.Agent != "":
		g.report()
	case strings.HasPrefix(rel, "device/"):
		if k, ok := parseDevicePath(path); ok {
			g.frontend(k)
		}
	}
}

func (g *guest) scanDevices() {
	ctx, cancel := g.ctx()
	defer cancel()
	for _, k := range g.devices(ctx) {
		g.frontend(k)
	}
}

// devices lists the guest's PV devices under device/.
func (g *guest) devices(ctx context.Context) []DeviceKey {
	var out []DeviceKey
	for _, class := range []DeviceClass{VBD, VIF} {
		ids, _ := g.xs.Directory(ctx, "device/"+string(class))
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				out = append(out, DeviceKey{Class: class, Frontend: g.domid, DevID: n})
			}
		}
	}
	return out
}

// onShutdownRequest acknowledges control/shutdown as Linux does: it reads
// the request and writes the empty string back in one transaction
// (retrying on EAGAIN), then shuts down with the matching reason.
func (g *guest) onShutdownRequest() {
	if g.p.NeverAck {
		return
	}
	ctx, cancel := g.ctx()
	defer cancel()
	var req string
	err := g.xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		v, err := tx.Read(ctx, "control/shutdown")
		if err != nil {
			return err
		}
		req = string(v)
		if _, ok := shutdownReasons[req]; !ok {
			return nil
		}
		return tx.Write(ctx, "control/shutdown", nil)
	})
	reason, ok := shutdownReasons[req]
	if err != nil || !ok {
		g.ignore(err)
		return
	}
	g.log.Debug("simulated guest shutting down", "reason", reason)
	g.hooks.shutdown(reason)
}

func (g *guest) onMemoryTarget() {
	ctx, cancel := g.ctx()
	defer cancel()
	v, err := g.xs.Read(ctx, "memory/target")
	if err != nil {
		return
	}
	kib, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
	if err != nil || kib == 0 {
		return
	}
	if g.hooks.balloon != nil {
		g.hooks.balloon(kib)
	}
	if g.p.Agent != "" {
		g.report()
	}
}
