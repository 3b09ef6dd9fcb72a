package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/bench/chaos"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// chaosCmd runs the chaos suite: a storm against a xenactord in a child
// process with faults injected at random, and the invariant checks after
// each run.
func chaosCmd(args []string) error {
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	seed := fs.Int64("seed", 1, "seed of every random choice")
	duration := fs.Duration("duration", 10*time.Minute, "total length (runs until it has passed; see -runs)")
	runs := fs.Int("runs", 0, "number of runs (0: until -duration has passed)")
	runDuration := fs.Duration("run-duration", chaos.DefaultRunDuration, "length of each run's storm")
	faults := fs.String("faults", "all", "all or a comma-separated list of fault kinds")
	vms := fs.Int("vms", chaos.DefaultVMs, "VMs of the storm's pool")
	workers := fs.Int("workers", chaos.DefaultWorkers, "operations in flight at once")
	interval := fs.Duration("fault-interval", chaos.DefaultFaultInterval, "mean time between two faults")
	opTimeout := fs.Duration("op-timeout", chaos.DefaultOpTimeout, "bound on each operation, its task included")
	asJSON := fs.Bool("json", false, "print JSON instead of the tables")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)

	kinds, err := chaos.ParseFaults(*faults)
	if err != nil {
		return err
	}
	opts := chaos.Options{Seed: *seed, Runs: *runs, Duration: *duration, RunDuration: *runDuration, Faults: kinds,
		VMs: *vms, Workers: *workers, FaultInterval: *interval, OpTimeout: *opTimeout}
	if !*quiet {
		opts.Progress = progressLine
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := chaos.Run(ctx, opts)
	if rep != nil {
		if *asJSON {
			if err := chaos.WriteJSON(os.Stdout, rep); err != nil {
				return err
			}
		} else {
			chaos.WriteText(os.Stdout, rep)
		}
	}
	if err != nil {
		return err
	}
	if n := rep.ViolationCount(); n > 0 {
		return fmt.Errorf("%d invariant violations (seed %d)", n, *seed)
	}
	return nil
}

// chaosDaemonCmd is the child process of chaosCmd (hidden): a xenactord
// daemon with the fault hooks, and the storm, driven over stdin and stdout.
func chaosDaemonCmd() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return chaos.ChildMain(ctx, StartChaosDaemon, os.Stdin, os.Stdout)
}

// StartChaosDaemon starts xenactord's daemon on the chaos suite's host,
// with short timeouts and the injector's hooks in every VM actor.
func StartChaosDaemon(ctx context.Context, cfg chaos.ChildConfig) (*chaos.ChildDaemon, error) {
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, "suspend"), 0o700); err != nil {
		return nil, err
	}
	inj := newInjector(filepath.Join(cfg.RunDir, "smctl"))
	plugin := filepath.Join(cfg.RunDir, "sm")
	if err := writeChaosPlugin(plugin, inj.ctl); err != nil {
		return nil, err
	}
	// What a daemon killed in the middle of a storm left in effect, and
	// its count of hits.
	inj.Lift()
	_ = os.Remove(filepath.Join(inj.ctl, "hits"))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	dc := daemon.Config{StateDir: cfg.StateDir, RunDir: cfg.RunDir, Xenstored: cfg.Xenstored,
		Hypervisor: cfg.Hypervisor, MetricsAddr: "127.0.0.1:0", Logger: log, TuneVM: inj.tune,
		SRs: []storage.SR{{Name: chaos.SR, PluginDir: plugin, URI: "file://" + inj.ctl}}}
	if cfg.APIStunnel != "" {
		// stunnel in front of the API: the host daemon FaultDaemonKill
		// kills.
		dc.APIAddr, dc.APIStunnel = "127.0.0.1:0", cfg.APIStunnel
	}
	d, err := daemon.Start(ctx, dc)
	if err != nil {
		return nil, err
	}
	inj.daemons = d.Daemons()
	return &chaos.ChildDaemon{Client: client.New(client.InProcess(d.System(), d.API())), Injector: inj,
		MetricsAddr: d.MetricsAddr(), Stop: d.Stop}, nil
}

// chaosPluginScript is the prelude of each call of the chaos SR's plugin:
// it fails while <ctl>/fail exists and sleeps while <ctl>/slow does,
// noting each in <ctl>/hits.
const chaosPluginScript = `#!/bin/sh
ctl=%q
cat >/dev/null
if [ -e "$ctl/fail" ]; then
	echo fail >>"$ctl/hits"
	echo '{"code":"unavailable","message":"chaos: injected storage plugin failure"}'
	exit 1
fi
if [ -e "$ctl/slow" ]; then
	echo slow >>"$ctl/hits"
	sleep 2
fi
`

// writeChaosPlugin writes the chaos SR's plugin into dir: the datapath
// calls of a VDI plug and unplug, whose attach gives a fixed device.
func writeChaosPlugin(dir, ctl string) error {
	for _, d := range []string{dir, ctl} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for fn, reply := range map[string]string{
		"Datapath.attach":     `{"implementation":"XenDisk","params":"/dev/loop2","extra":{}}`,
		"Datapath.activate":   "null",
		"Datapath.deactivate": "null",
		"Datapath.detach":     "null",
	} {
		script := fmt.Sprintf(chaosPluginScript, ctl) + "echo '" + reply + "'\n"
		if err := os.WriteFile(filepath.Join(dir, fn), []byte(script), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// A VM actor is panicked at most vmPanicMax times in vmPanicWindow, below
// the give-up limit of its supervisor (5 restarts a minute).
const (
	vmPanicMax    = 3
	vmPanicWindow = 70 * time.Second
)

// Host daemons are killed at most daemonKillMax times in
// daemonKillWindow, below the give-up limit of their actors (5 failures a
// minute).
const (
	daemonKillMax    = 3
	daemonKillWindow = 70 * time.Second
)

// The windows of the storage faults.
const (
	storageSlowFor = 3 * time.Second
	storageFailFor = 1500 * time.Millisecond
)

// injector arms the faults of the daemon's process: a flag per VM for its
// actor, and counts for the device and guest actors, which the hooks it
// installs in each VM actor's config take; and a control file of the chaos
// SR's plugin for a while for the storage faults.
type injector struct {
	ctl string // the plugin's control directory
	// daemons are the daemon's host daemons, whose processes
	// FaultDaemonKill kills.
	daemons []daemons.Client
	mu      sync.Mutex
	// kills are the times of the host daemon kills, within
	// daemonKillWindow.
	kills []time.Time
	vms   map[string]bool
	// vmHits are the times each VM actor panicked, within vmPanicWindow.
	vmHits map[string][]time.Time
	armed  map[string]int // by kind, for the device and guest actors
	hit    map[string]int
}

func newInjector(ctl string) *injector {
	return &injector{ctl: ctl, vms: make(map[string]bool), vmHits: make(map[string][]time.Time),
		armed: make(map[string]int), hit: make(map[string]int)}
}

// Inject arms one fault of kind.
func (i *injector) Inject(ctx context.Context, kind, uuid string) error {
	if kind == chaos.FaultDaemonKill {
		return i.killDaemon(ctx)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	switch kind {
	case chaos.FaultPanicVM:
		// The VM actors' supervisor gives up on one that panics 5 times
		// a minute: a different fault, kept out of the storm.
		now := time.Now()
		i.vmHits[uuid] = slices.DeleteFunc(i.vmHits[uuid], func(t time.Time) bool { return now.Sub(t) > vmPanicWindow })
		if i.vms[uuid] || len(i.vmHits[uuid]) >= vmPanicMax {
			return fmt.Errorf("chaos: VM %s panicked %d times in %s: %w", uuid, len(i.vmHits[uuid]), vmPanicWindow,
				errdefs.ErrBusy)
		}
		i.vms[uuid] = true
	case chaos.FaultPanicVBD, chaos.FaultPanicVIF, chaos.FaultPanicGuest:
		i.armed[kind]++
	case chaos.FaultStorageSlow, chaos.FaultStorageFail:
		name, window := "slow", storageSlowFor
		if kind == chaos.FaultStorageFail {
			name, window = "fail", storageFailFor
		}
		f := filepath.Join(i.ctl, name)
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			return err
		}
		time.AfterFunc(window, func() { _ = os.Remove(f) })
	default:
		return fmt.Errorf("chaos: %s in this daemon: %w", kind, errdefs.ErrNotImplemented)
	}
	return nil
}

// killDaemon kills the process of a host daemon that runs one with
// SIGKILL; its actor starts it again.
func (i *injector) killDaemon(ctx context.Context) error {
	if len(i.daemons) == 0 {
		return fmt.Errorf("chaos: no host daemon in this daemon: %w", errdefs.ErrNotImplemented)
	}
	// The daemon actors give up after 5 failures a minute: a different
	// fault, kept out of the storm.
	now := time.Now()
	i.mu.Lock()
	i.kills = slices.DeleteFunc(i.kills, func(t time.Time) bool { return now.Sub(t) > daemonKillWindow })
	n := len(i.kills)
	i.mu.Unlock()
	if n >= daemonKillMax {
		return fmt.Errorf("chaos: %d host daemon kills in %s: %w", n, daemonKillWindow, errdefs.ErrBusy)
	}
	for _, c := range i.daemons {
		st, err := c.Status(ctx)
		if err != nil || st.Pid <= 0 {
			continue
		}
		if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
			return err
		}
		i.mu.Lock()
		i.hit[chaos.FaultDaemonKill]++
		i.kills = append(i.kills, now)
		i.mu.Unlock()
		return nil
	}
	return fmt.Errorf("chaos: no host daemon runs a process: %w", errdefs.ErrBusy)
}

// Hit returns the faults that went off.
func (i *injector) Hit() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.hit))
	for k, n := range i.hit {
		out[k] = n
	}
	if b, err := os.ReadFile(filepath.Join(i.ctl, "hits")); err == nil {
		out[chaos.FaultStorageSlow] = strings.Count(string(b), "slow\n")
		out[chaos.FaultStorageFail] = strings.Count(string(b), "fail\n")
	}
	return out
}

// Lift disarms every fault and removes the plugin's control files.
func (i *injector) Lift() {
	i.mu.Lock()
	defer i.mu.Unlock()
	clear(i.vms)
	clear(i.armed)
	for _, f := range []string{"slow", "fail"} {
		_ = os.Remove(filepath.Join(i.ctl, f))
	}
}

// take disarms one fault of kind (of uuid's VM for FaultPanicVM) and says
// whether there was one.
func (i *injector) take(kind, uuid string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if kind == chaos.FaultPanicVM {
		if !i.vms[uuid] {
			return false
		}
		delete(i.vms, uuid)
		i.vmHits[uuid] = append(i.vmHits[uuid], time.Now())
	} else {
		if i.armed[kind] == 0 {
			return false
		}
		i.armed[kind]--
	}
	i.hit[kind]++
	return true
}

// actorPkg is protoactor's actor package: its system messages (Started,
// Stopping, ...) never panic a VM actor, as a restart while it stops would
// bring it back.
var actorPkg = reflect.TypeFor[actor.Started]().PkgPath()

// tune is the daemon's TuneVM: short timeouts, and the hooks.
func (i *injector) tune(c *vm.Config) {
	c.AckTimeout, c.ShutdownTimeout, c.SuspendTimeout = 2*time.Second, 5*time.Second, 10*time.Second
	c.HotplugTimeout, c.UnplugTimeout, c.CleanupTimeout = 5*time.Second, 2*time.Second, 10*time.Second
	uuid := c.Spec.UUID
	vm.OnReceive(c, func(msg any) {
		if t := reflect.TypeOf(msg); t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() != actorPkg &&
			i.take(chaos.FaultPanicVM, uuid) {
			panic("chaos: injected fault in the VM actor of " + uuid)
		}
	})
	c.Hotplug = faultyHotplug{Hotplug: c.Hotplug, inj: i}
	vm.WrapGuestStore(c, func(s guest.Store) guest.Store { return faultyStore{Store: s, inj: i} })
}

// faultyHotplug panics the device actor whose hotplug step takes an armed
// fault of its class.
type faultyHotplug struct {
	hotplug.Hotplug
	inj *injector
}

func (h faultyHotplug) Add(ctx context.Context, d hotplug.Device) error {
	kind := chaos.FaultPanicVBD
	if d.Class == xenbus.ClassVIF {
		kind = chaos.FaultPanicVIF
	}
	if h.inj.take(kind, "") {
		panic("chaos: injected fault in the hotplug of " + d.BackendPath())
	}
	return h.Hotplug.Add(ctx, d)
}

// faultyStore panics the guest actor whose read takes an armed fault.
type faultyStore struct {
	guest.Store
	inj *injector
}

func (s faultyStore) Directory(ctx context.Context, p string) ([]string, error) {
	if s.inj.take(chaos.FaultPanicGuest, "") {
		panic("chaos: injected fault in a guest read of " + p)
	}
	return s.Store.Directory(ctx, p)
}
