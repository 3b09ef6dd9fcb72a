package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/actors/console"
	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/pool"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/hostio/hotplug"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/stunnel"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/telemetry"
)

// ConsoleDir is where, under the run directory, the console daemon keeps
// the guests' logs (guest-<domid>.log).
const ConsoleDir = "console"

// readyTimeout bounds how long Start waits for the host actor to answer.
const readyTimeout = 30 * time.Second

// Daemon is a running xenactord.
type Daemon struct {
	log    *slog.Logger
	system *actor.ActorSystem
	host   host.Client
	api    *actor.PID // the api actor, "api" at the root
	// apiPID is api, for the pool's forwarder, which may run before it.
	apiPID atomic.Pointer[actor.PID]
	// pool is the host's membership of a pool; nil when Config.PoolAddr
	// is "".
	pool *pool.Pool
	// poolCreds are the host's pool credentials, which its migration
	// listener also accepts; nil outside a pool.
	poolCreds *apiwire.PoolCredentials
	// apiServer serves the api actor over the network; nil when
	// Config.APIAddr is "".
	apiServer *apiwire.Server
	store     *statedir.Store
	closers   []func() error // run in reverse order by Stop
	// xsPath is the socket of the xenstored the daemon uses; hvPath the
	// hypervisor's (hvremote).
	xsPath string
	hvPath string

	// choice is the hypervisor the daemon drives.
	choice Choice
	// embeddedHost is set when the simulated host runs in the daemon.
	embeddedHost bool
	// xenconsoled is the actor of the Xen host's console daemon, which
	// Stop detaches from rather than stops: like the domains, it outlives
	// the daemon. nil without one.
	xenconsoled *actor.PID
	// daemons are the embedded host's daemon actors, stopped (with their
	// processes) before the actor system. Their statuses go to the host
	// actor, at hostPID once it runs.
	daemons []daemons.Client
	hostPID atomic.Pointer[actor.PID]
	console *actor.PID // the console daemon's actor; nil if none
	metrics *telemetry.Server

	// migrateAddr is where the migration listener is; stopMigration
	// stops it. Both unset when there is none.
	migrateAddr   string
	stopMigration func() error

	stopOnce sync.Once
	stopErr  error
}

// backend is the host the daemon drives.
type backend struct {
	hv   hypervisor.Hypervisor
	hp   hotplug.Hotplug
	dial func(context.Context) (*xenstore.Client, error)
	// sw is the host's switch when the daemon reaches it (the embedded
	// host's), for the PVS proxy's OpenFlow rules.
	sw ovs.Switch
	// memory, if set, returns the host's memory for HostInfo.
	memory func(ctx context.Context) (totalKiB, freeKiB uint64, err error)
}

// Start brings the daemon up: the host (embedded or remote), the state
// directory, the actor system and the host actor, which loads the
// persisted VMs and re-adopts their running domains. It returns once the
// host actor answers.
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	choice, err := cfg.ChooseHypervisor()
	if err != nil {
		return nil, err
	}
	if err := cfg.checkPool(); err != nil {
		return nil, err
	}
	if _, err := cfg.consoleNoPTY(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{log: log, choice: choice}
	log.Info("hypervisor: "+choice.String(), "hypervisor", choice.Kind)
	started := time.Now()
	defer func() {
		if err != nil {
			_ = d.Stop()
		}
	}()
	if err := d.startTracing(cfg); err != nil {
		return nil, err
	}
	mp, err := telemetry.MeterProvider()
	if err != nil {
		return nil, fmt.Errorf("daemon: metrics: %w", err)
	}
	d.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("lib", "protoactor")
	}), actor.WithMetricProviders(mp))
	if err := d.joinPool(ctx, cfg); err != nil {
		return nil, err
	}
	// The API's transport changes the system's address: it starts before
	// any actor is spawned.
	if err := d.serveAPI(ctx, cfg); err != nil {
		return nil, err
	}
	var be backend
	switch choice.Kind {
	case HypervisorSim:
		be, err = d.embedded(ctx, cfg)
	case HypervisorXen:
		be, err = d.xen(ctx, cfg) // xen.go
	default:
		be, err = d.remote(ctx, choice.Remote(), cfg.Xenstored)
	}
	if err != nil {
		return nil, err
	}
	if d.store, err = statedir.Open(cfg.StateDir); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.store.Close)
	hc := host.Config{StateDir: d.store, Hypervisor: be.hv, Dial: be.dial, Hotplug: be.hp, TuneVM: d.tuneVM(cfg),
		Logger: log, DaemonAffects: daemonAffects}
	if fs, ok := be.sw.(ovs.FlowSwitch); ok {
		hc.PVSSwitch = fs
	}
	if err := d.devices(cfg, &hc); err != nil {
		return nil, err
	}
	pid, err := d.system.Root.SpawnNamed(host.Props(hc), "host")
	if err != nil {
		return nil, fmt.Errorf("daemon: spawning the host actor: %w", err)
	}
	d.host = host.NewClient(d.system, pid)
	d.hostPID.Store(pid)
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, c := range d.daemons {
		if st, err := c.Status(rctx); err == nil {
			d.system.Root.Send(pid, &host.DaemonChanged{Status: st})
		}
	}
	if _, err := d.host.ListVMs(rctx); err != nil {
		return nil, fmt.Errorf("daemon: the host actor does not answer: %w", err)
	}
	if err := d.startAPI(cfg, be, started); err != nil {
		return nil, err
	}
	if err := d.serveMigration(cfg); err != nil {
		return nil, err
	}
	d.startConsole(cfg, be)
	if err := d.serveMetrics(cfg); err != nil {
		return nil, err
	}
	return d, nil
}

// startAPI spawns the api actor, "api" at the root, the entry point of the
// RPC API. Suspend images without a path go to <state-dir>/suspend.
func (d *Daemon) startAPI(cfg Config, be backend, started time.Time) error {
	ac := api.Config{Host: d.host, Hypervisor: d.choice.Kind, Started: started,
		SuspendDir: filepath.Join(cfg.StateDir, "suspend"), HostMemory: be.memory}
	ac.ResetDaemon = d.resetDaemon
	ac.Hostname = cfg.HostName
	if d.pool != nil {
		ac.Pool = d.pool
	}
	pid, err := d.system.Root.SpawnNamed(api.Props(ac), api.Name)
	if err != nil {
		return fmt.Errorf("daemon: spawning the api actor: %w", err)
	}
	d.api = pid
	d.apiPID.Store(pid)
	return nil
}

// serveAPI starts the RPC API's transport on cfg.APIAddr, unless it is "",
// and the stunnel in front of it when cfg.APIStunnel is set.
func (d *Daemon) serveAPI(ctx context.Context, cfg Config) error {
	if cfg.APIAddr == "" {
		if cfg.APIStunnel != "" {
			return fmt.Errorf("%w: a stunnel in front of the API needs an API address", ErrUsage)
		}
		return nil
	}
	dir := cfg.APICredentialsDir
	if dir == "" {
		dir = filepath.Join(cfg.StateDir, "api")
	}
	srv, err := apiwire.Serve(d.system, apiwire.ServerConfig{Address: cfg.APIAddr, CredentialsDir: dir,
		Insecure: cfg.APIInsecure, TerminatedAt: cfg.APIStunnel, Logger: d.log})
	if err != nil {
		if errdefs.IsInvalid(err) {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return fmt.Errorf("daemon: API: %w", err)
	}
	d.apiServer = srv
	if cfg.APIStunnel == "" {
		return nil
	}
	return d.startStunnel(ctx, cfg, dir, srv.Addr())
}

// startStunnel runs stunnel under a daemon actor ("daemon/stunnel"),
// terminating TLS on cfg.APIStunnel with the API's server certificate from
// credentials and forwarding to the API on apiAddr. Its pid file, log and
// configuration are in <run-dir>/api-stunnel; a running one is adopted.
func (d *Daemon) startStunnel(ctx context.Context, cfg Config, credentials, apiAddr string) error {
	prog := cfg.Stunnel
	if prog == "" {
		p, err := exec.LookPath(daemons.DefaultStunnelProgram)
		if err != nil {
			return fmt.Errorf("%w: -api-stunnel needs %s (Debian's stunnel4): %v", ErrUsage,
				daemons.DefaultStunnelProgram, err)
		}
		prog = p
	}
	runDir, err := filepath.Abs(filepath.Join(cfg.RunDir, "api-stunnel"))
	if err != nil {
		return err
	}
	m, err := process.NewManager(runDir)
	if err != nil {
		return fmt.Errorf("daemon: stunnel: %w", err)
	}
	sc, err := daemons.Stunnel(m, daemons.StunnelConfig{Program: prog, TLS: stunnel.Config{
		Service: "xenactor-api", Accept: cfg.APIStunnel, Connect: apiAddr,
		Cert: filepath.Join(credentials, apiwire.ServerCertFile), Key: filepath.Join(credentials, apiwire.ServerKeyFile)}})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	sc.Notify = d.daemonChanged
	c, err := daemons.Start(ctx, d.system, "daemon/"+daemons.DefaultStunnelName, sc)
	if err != nil {
		return fmt.Errorf("daemon: stunnel in front of the API: %w", err)
	}
	d.daemons = append(d.daemons, c)
	return nil
}

// APIAddr returns the address the RPC API is served on; "" when none.
func (d *Daemon) APIAddr() string {
	if d.apiServer == nil {
		return ""
	}
	return d.apiServer.Addr()
}

// resetDaemon starts the daemon name (a daemon actor's Spec.Name) again
// after it was given up on; the actor ignores a Reset in other states.
func (d *Daemon) resetDaemon(ctx context.Context, name string) error {
	for _, c := range d.daemons {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if st.Name == name {
			c.Reset()
			return nil
		}
	}
	return fmt.Errorf("daemon %q: %w", name, errdefs.ErrNotFound)
}

// hostMemory returns the HostInfo memory of a host of totalKiB: free is what
// its domains, dom0 included, do not hold.
func hostMemory(hv hypervisor.Hypervisor, totalKiB uint64) func(context.Context) (uint64, uint64, error) {
	return func(ctx context.Context) (uint64, uint64, error) {
		doms, err := hv.ListDomains(ctx)
		if err != nil {
			return 0, 0, err
		}
		var used uint64
		for _, dom := range doms {
			used += dom.MemoryKiB
		}
		return totalKiB, totalKiB - min(used, totalKiB), nil
	}
}

// startConsole starts the console daemon's actor, which logs the guests'
// consoles in <run-dir>/console (and offers each on a pty unless
// cfg.Console is ConsoleLog), when the hypervisor gives page access to the
// guests' memory (the simulated host, embedded or remote).
func (d *Daemon) startConsole(cfg Config, be backend) {
	if d.xenconsoled != nil {
		return // xenconsoled serves a Xen host's consoles
	}
	pages, ok := be.hv.(cons.Pages)
	if !ok {
		d.log.Info("no console daemon: the hypervisor gives no page access")
		return
	}
	noPTY, _ := cfg.consoleNoPTY() // checked by Start
	d.console = d.system.Root.Spawn(console.Props(console.Config{Dial: be.dial, Pages: pages,
		LogDir: filepath.Join(cfg.RunDir, ConsoleDir), NoPTY: noPTY, Logger: d.log}))
}

// embedded starts the simulated host in the process and serves its
// xenstored on <run-dir>/xenstored.sock and its hypervisor (hvremote) on
// <run-dir>/hypervisor.sock (0600), which the save/restore helper uses.
func (d *Daemon) embedded(ctx context.Context, cfg Config) (backend, error) {
	mib := cfg.HostMemoryMiB
	if mib == 0 {
		mib = DefaultHostMemoryMiB
	}
	d.embeddedHost = true
	sw, err := d.hostSwitch(ctx, cfg)
	if err != nil {
		return backend{}, err
	}
	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: mib << 10}, Logger: d.log, Switch: sw})
	if err != nil {
		return backend{}, err
	}
	d.closers = append(d.closers, h.Close)
	socks, err := h.ServeSockets(cfg.RunDir, d.log)
	if err != nil {
		return backend{}, err
	}
	d.closers = append(d.closers, socks.Close)
	d.xsPath, d.hvPath = socks.Xenstored, socks.Hypervisor
	dial := func(context.Context) (*xenstore.Client, error) {
		nc, err := h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
	return backend{hv: h.Hypervisor(), hp: h.Hotplug().Device(), dial: dial, sw: h.Switch(),
		memory: hostMemory(h.Hypervisor(), mib<<10)}, nil
}

// remote connects to a simulated host in another process: its hypervisor
// and hotplug step over hvremote, its xenstored over its socket, where
// connections are privileged dom0.
func (d *Daemon) remote(ctx context.Context, hvPath, xsPath string) (backend, error) {
	hv, err := hvremote.Dial(ctx, hvPath)
	if err != nil {
		return backend{}, fmt.Errorf("daemon: hypervisor: %w", err)
	}
	d.closers = append(d.closers, hv.Close)
	dial := func(ctx context.Context) (*xenstore.Client, error) { return xenstore.Dial(ctx, xsPath) }
	// Fail now, with a clear error, rather than in the host actor.
	probe, err := dial(ctx)
	if err != nil {
		return backend{}, fmt.Errorf("daemon: xenstored: %w", err)
	}
	_ = probe.Close()
	d.xsPath, d.hvPath = xsPath, hvPath
	return backend{hv: hv, hp: hv.Hotplug(), dial: dial}, nil
}

// tuneVM adds the save/restore helper and the domain builder, if
// configured, to cfg.TuneVM.
func (d *Daemon) tuneVM(cfg Config) func(*vm.Config) {
	if cfg.EmuManager == "" && cfg.Xenguest == "" {
		return cfg.TuneVM
	}
	return func(c *vm.Config) {
		if cfg.EmuManager != "" {
			c.EmuManager = &vm.EmuManager{Path: cfg.EmuManager, Hypervisor: d.hvPath}
		}
		if cfg.Xenguest != "" {
			c.Xenguest = &vm.Xenguest{Path: cfg.Xenguest, Hypervisor: d.hvPath}
		}
		if cfg.TuneVM != nil {
			cfg.TuneVM(c)
		}
	}
}

// Host returns a client of the host actor.
func (d *Daemon) Host() host.Client { return d.host }

// API returns the PID of the api actor, the RPC API's entry point
// (client.InProcess calls it in the same process).
func (d *Daemon) API() *actor.PID { return d.api }

// System returns the daemon's actor system.
func (d *Daemon) System() *actor.ActorSystem { return d.system }

// Daemons returns the clients of the daemon actors of the embedded host
// (its Open vSwitch's with -switch ovs), in start order.
func (d *Daemon) Daemons() []daemons.Client { return d.daemons }

// Hypervisor returns the hypervisor the daemon drives, and why.
func (d *Daemon) Hypervisor() Choice { return d.choice }

// Xenstored returns the socket of the xenstored the daemon uses.
func (d *Daemon) Xenstored() string { return d.xsPath }

// HypervisorSocket returns the socket of the hypervisor the daemon uses
// (hvremote): the embedded host's <run-dir>/hypervisor.sock, or the remote
// host's.
func (d *Daemon) HypervisorSocket() string { return d.hvPath }

// Stop stops the console daemon's actor, which frees the ptys, and the host
// actor and its children, which leave the domains running for the next
// daemon to adopt, then the actor system (a Xen host's xenconsoled is left
// running for the next daemon to adopt too), and closes the state directory
// and the host connections. An embedded simulated host stops with the
// daemon and its socket is removed: its domains cannot outlive it, so its
// VMs are shut down hard first, which stops their device models and
// emulators and detaches their volumes. Stop is idempotent.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		var errs []error
		// Leave the pool first: the other hosts see this one leave rather
		// than die, and stop routing to it.
		if d.pool != nil {
			errs = append(errs, d.pool.Stop())
		}
		if d.system != nil {
			if d.api != nil {
				errs = append(errs, d.system.Root.StopFuture(d.api).Wait())
			}
			if d.apiServer != nil {
				d.apiServer.Stop()
			}
			if d.stopMigration != nil {
				errs = append(errs, d.stopMigration())
			}
			if pid := d.host.PID(); pid != nil && d.embeddedHost {
				errs = append(errs, d.shutdownAll())
			}
			if d.console != nil {
				errs = append(errs, d.system.Root.StopFuture(d.console).Wait())
			}
			if pid := d.host.PID(); pid != nil {
				errs = append(errs, d.system.Root.StopFuture(pid).Wait())
			}
			for i := len(d.daemons) - 1; i >= 0; i-- {
				sctx, cancel := context.WithTimeout(context.Background(), daemonStopTimeout)
				if c := d.daemons[i]; d.xenconsoled != nil && c.PID().Equal(d.xenconsoled) {
					errs = append(errs, c.Detach(sctx))
				} else {
					errs = append(errs, c.Stop(sctx))
				}
				cancel()
			}
			d.system.Shutdown()
		}
		for i := len(d.closers) - 1; i >= 0; i-- {
			errs = append(errs, d.closers[i]())
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

// devices sets up what the VM actors plug besides PV devices: the SRs'
// storage registry and the device models.
func (d *Daemon) devices(cfg Config, hc *host.Config) error {
	if len(cfg.SRs) > 0 {
		reg := storage.NewRegistry()
		for _, sr := range cfg.SRs {
			if err := reg.Add(sr); err != nil {
				return fmt.Errorf("%w: SR %s: %w", ErrUsage, sr.Name, err)
			}
		}
		hc.Storage = reg
	}
	if cfg.DeviceModel != "" {
		bin, err := exec.LookPath(cfg.DeviceModel)
		if err != nil {
			return fmt.Errorf("%w: device model %q: %w", ErrUsage, cfg.DeviceModel, err)
		}
		dir := filepath.Join(cfg.RunDir, "dm")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		hc.DeviceModels = devicemodel.QEMU{Config: devicemodel.Config{RunDir: dir, Binary: bin}}
	}
	if cfg.DEMU != "" {
		bin, err := exec.LookPath(cfg.DEMU)
		if err != nil {
			return fmt.Errorf("%w: DEMU %q: %w", ErrUsage, cfg.DEMU, err)
		}
		dir := filepath.Join(cfg.RunDir, "demu")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		hc.VGPUs = vgpu.DEMU{Config: vgpu.Config{RunDir: dir, Binary: bin}}
	}
	return nil
}

// daemonStopTimeout bounds the stop of one daemon actor and its process.
const daemonStopTimeout = 30 * time.Second

// hostSwitch returns the embedded host's switch: nil (the simulator's
// in-memory one) for SwitchSim, or a private Open vSwitch in
// <run-dir>/ovs whose ovsdb-server and ovs-vswitchd run under daemon
// actors, which restart them when they die.
func (d *Daemon) hostSwitch(ctx context.Context, cfg Config) (ovs.Switch, error) {
	switch cfg.Switch {
	case "", SwitchSim:
		return nil, nil
	case SwitchOVS:
	default:
		return nil, fmt.Errorf("%w: -switch %q: want %q or %q", ErrUsage, cfg.Switch, SwitchSim, SwitchOVS)
	}
	dir, err := filepath.Abs(filepath.Join(cfg.RunDir, "ovs"))
	if err != nil {
		return nil, err
	}
	sw, clients, err := daemons.StartOVS(ctx, d.system, dir, d.daemonChanged)
	if err != nil {
		return nil, err
	}
	d.daemons = append(d.daemons, clients...)
	return sw, nil
}

// shutdownTimeout bounds the hard shutdown of the embedded host's VMs.
const shutdownTimeout = 60 * time.Second

// shutdownAll shuts every VM with a domain down hard, concurrently, and
// waits for the tasks.
func (d *Daemon) shutdownAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	list, err := d.host.ListVMs(ctx)
	if err != nil {
		return fmt.Errorf("daemon: shutting the VMs down: %w", err)
	}
	tpid, err := d.host.Tasks(ctx)
	if err != nil {
		return fmt.Errorf("daemon: shutting the VMs down: %w", err)
	}
	tc := tasks.NewClient(d.system, tpid)
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, info := range list {
		if !info.PowerState.HasDomain() {
			continue
		}
		wg.Go(func() {
			c, err := d.host.VM(ctx, info.Spec.UUID)
			if err != nil {
				errs[i] = err
				return
			}
			id, err := c.Shutdown(ctx, true)
			if err == nil {
				var task tasks.Task
				if task, err = tc.Wait(ctx, id); err == nil && task.State != tasks.Completed {
					err = fmt.Errorf("%s", task.Error)
				}
			}
			if err != nil {
				errs[i] = fmt.Errorf("daemon: shut VM %s down: %w", info.Spec.UUID, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// daemonAffects says which VMs a host daemon given up on leaves degraded:
// the switch's daemons (ovsdb-server, ovs-vswitchd) those with VIFs; the
// others (stunnel in front of the API) no VM.
func daemonAffects(daemon string, spec vm.Spec) bool {
	return strings.HasPrefix(daemon, "ovs") && len(spec.VIFs) > 0
}

// daemonChanged logs a daemon's new status and hands it to the host actor,
// which keeps it for clients (host.Client.Daemons) and announces it.
func (d *Daemon) daemonChanged(st daemons.Status) {
	d.log.Info("daemon", "name", st.Name, "state", st.State, "pid", st.Pid, "restarts", st.Restarts,
		"err", st.LastErr)
	if pid := d.hostPID.Load(); pid != nil {
		d.system.Root.Send(pid, &host.DaemonChanged{Status: st})
	}
}
