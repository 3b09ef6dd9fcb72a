package daemon

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor/xen"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
)

// The hypervisors the daemon drives (Config.Hypervisor), besides
// "unix:<path>", an xenactor-simhost's.
const (
	// HypervisorAuto is HypervisorXen in the control domain of a Xen host
	// when the build has the Xen backend, HypervisorSim otherwise.
	HypervisorAuto = ""
	// HypervisorSim is the embedded simulated host.
	HypervisorSim = "sim"
	// HypervisorXen is the real Xen host the daemon runs in the control
	// domain of (hostio/hypervisor/xen): its C xenstored, real hotplug
	// (hostio/hotplug/dom0) and a supervised xenconsoled. It needs a build
	// with the tag xen (make build-xen).
	HypervisorXen = "xen"
)

// DefaultXenstored is the socket of the host's C xenstored on a Xen host.
const DefaultXenstored = "/var/run/xenstored/socket"

// unixPrefix starts a Hypervisor naming an hvremote socket.
const unixPrefix = "unix:"

// DefaultHostMemoryMiB is the embedded simulated host's memory when
// Config.HostMemoryMiB is 0.
const DefaultHostMemoryMiB = 16384

// ErrUsage is a configuration that is not supported; the command exits
// with status 2 for it. It wraps errdefs.ErrInvalid.
var ErrUsage = fmt.Errorf("usage: %w", errdefs.ErrInvalid)

// Config is what the daemon runs with.
type Config struct {
	// StateDir holds the persisted VM records; RunDir the runtime files
	// (the embedded host's xenstored.sock and hypervisor.sock).
	StateDir string
	RunDir   string
	// Xenstored is the socket of an external xenstored; "" serves the
	// embedded simulated host's own. It must be set with a remote
	// Hypervisor, and the xenstored must be that host's.
	Xenstored string
	// Hypervisor is HypervisorAuto (""), HypervisorSim, HypervisorXen or
	// "unix:<path>", the hypervisor.sock of an xenactor-simhost. With
	// HypervisorXen, Xenstored "" is DefaultXenstored.
	Hypervisor string
	// XenCapabilities is the file HypervisorAuto looks for a Xen control
	// domain in; "" is xen.CapabilitiesPath (/proc/xen/capabilities).
	XenCapabilities string
	// Xenconsoled is the executable of Xen's console daemon, run under a
	// daemon actor with HypervisorXen; "" looks xenconsoled up in PATH,
	// then in Xen's library directories (DefaultXenconsoledPaths).
	Xenconsoled string
	// HostMemoryMiB is the embedded simulated host's memory; 0 means
	// DefaultHostMemoryMiB.
	HostMemoryMiB uint64
	// Logger, if set, receives the daemon's logs; nil discards them.
	Logger *slog.Logger
	// TuneVM, if set, adjusts each VM actor's config (timeouts, say).
	TuneVM func(*vm.Config)
	// DeviceModel is the QEMU binary started as the device model of each
	// HVM VM (with -machine none on the simulated host); "" runs HVM VMs
	// without one. Its files go to <run-dir>/dm.
	DeviceModel string
	// DEMU is the vGPU emulator's executable (xenactor-demu), started for
	// each vGPU of a VM before its device model; "" refuses VMs with vGPUs.
	// Its files go to <run-dir>/demu.
	DEMU string
	// SRs are the storage repositories VBDs may name a VDI of.
	SRs []storage.SR
	// Switch is the embedded host's switch: SwitchSim ("" too) or
	// SwitchOVS.
	Switch string
	// EmuManager, if set, is the save/restore helper's executable
	// (xenactor-emu-manager) that suspend and resume run; it reaches the
	// hypervisor on HypervisorSocket. "" saves and restores in the daemon.
	EmuManager string
	// Xenguest, if set, is the domain builder's executable
	// (xenactor-xenguest) that the build step of each start runs; it
	// reaches the hypervisor on HypervisorSocket. "" builds in the daemon.
	Xenguest string
	// Tracing configures the OpenTracing spans' export to Jaeger; the zero
	// value is tracing off. Start makes its tracer the global one.
	Tracing tracing.Config
	// MetricsAddr is the host:port /metrics is served on (DefaultMetricsAddr
	// in xenactord; port 0 picks one); "" serves none. MetricsPerVM adds
	// the per-VM series (a vm label).
	MetricsAddr  string
	MetricsPerVM bool
	// APIAddr is the host:port the RPC API is served on (DefaultAPIAddr in
	// xenactord; port 0 picks one); "" serves none, leaving the api actor
	// to in-process clients. Only one daemon with an API may run in a
	// process: protoactor's remote layer keeps process-wide state.
	APIAddr string
	// APICredentialsDir holds the API's CA, certificates, token and the
	// client.json clients find them by; generated on first start. ""
	// means <state-dir>/api.
	APICredentialsDir string
	// APIInsecure serves the API in plaintext (the token still required);
	// only on a loopback address.
	APIInsecure bool
	// APIStunnel, when set, is the host:port where stunnel, run under a
	// daemon actor with a configuration the daemon writes, terminates TLS
	// for the API (with the server certificate of the credentials) and
	// forwards to APIAddr, which must then be loopback and takes
	// plaintext. Clients authenticate with the token; client.json names
	// this address.
	APIStunnel string
	// Stunnel is the stunnel executable; "" looks stunnel4 up in PATH.
	Stunnel string

	// HostName is the host's name: HostInfo's hostname and its name in the
	// pool, unique there; "" takes os.Hostname.
	HostName string
	// PoolAddr is the host:port the host listens on as a member of the
	// pool (protoactor's remote, mutual TLS; port 0 picks one); "" keeps
	// the host out of a pool. It needs Etcd and PoolCredentialsDir.
	PoolAddr string
	// PoolName names the pool (its keys in etcd); "" is DefaultPoolName.
	PoolName string
	// Etcd are the client URLs of the etcd the pool's membership lives in.
	Etcd []string
	// PoolCredentialsDir is the directory of the pool's CA and its hosts'
	// certificates, shared by the hosts (apiwire.EnsurePoolCredentials).
	PoolCredentialsDir string
	// PoolTTL is the lease of the host's membership: a host that stops
	// renewing it is down after PoolTTL. 0 is pool.DefaultTTL.
	PoolTTL time.Duration
	// MigrateAddr is the host:port the migration listener takes incoming
	// migrations on (DefaultMigrateAddr in xenactord; port 0 picks one);
	// "" takes none. It serves TLS with the API's server certificate
	// (APICredentialsDir) and checks the API's token first thing.
	MigrateAddr string
	// MigrateInsecure takes migrations in plaintext (the token still
	// required); only on a loopback address.
	MigrateInsecure bool
	// MigrateReceivers is how many migrations are received at once; 0
	// means hostio/migrate's default.
	MigrateReceivers int
	// Console is how the console daemon serves the guests' consoles:
	// ConsolePTY ("" too) logs each and offers it on a pty, ConsoleLog
	// only logs it (no pty, no console/tty), for hosts with more domains
	// than the kernel has ptys.
	Console string
}

// The console modes of Config.Console.
const (
	ConsolePTY = "pty" // a log and a pty per domain, as xenconsoled
	ConsoleLog = "log" // the log only, as xenconsoled --log=guest without its ptys
)

// DefaultPoolName is the pool's name when Config.PoolName is "".
const DefaultPoolName = "default"

// DefaultMigrateAddr is where xenactord takes incoming migrations by
// default.
const DefaultMigrateAddr = migrate.DefaultAddress

// DefaultAPIAddr is where xenactord serves its RPC API by default.
const DefaultAPIAddr = apiwire.DefaultAddress

// The switches of the embedded simulated host.
const (
	SwitchSim = "sim" // in memory (ovs.Sim)
	SwitchOVS = "ovs" // a private Open vSwitch in user space, its daemons supervised
)

// ParseSR parses an SR given as name=<plugin dir>,<uri>, as the -sr flag
// takes it.
func ParseSR(s string) (storage.SR, error) {
	name, rest, ok := strings.Cut(s, "=")
	dir, uri, ok2 := strings.Cut(rest, ",")
	if !ok || !ok2 || name == "" || dir == "" || uri == "" {
		return storage.SR{}, fmt.Errorf("%w: -sr %q: want name=<plugin dir>,<uri>", ErrUsage, s)
	}
	return storage.SR{Name: name, PluginDir: dir, URI: uri}, nil
}

// consoleNoPTY reports whether the console daemon serves the logs only,
// or a usage error for an unknown mode.
func (c Config) consoleNoPTY() (bool, error) {
	switch c.Console {
	case "", ConsolePTY:
		return false, nil
	case ConsoleLog:
		return true, nil
	}
	return false, fmt.Errorf("%w: -console %q: want %q or %q", ErrUsage, c.Console, ConsolePTY, ConsoleLog)
}

// Choice is the hypervisor a daemon drives, and why.
type Choice struct {
	// Kind is HypervisorSim, HypervisorXen, or "unix:<path>".
	Kind string
	// Reason says why, for the log and the start line.
	Reason string
}

func (c Choice) String() string { return c.Kind + " (" + c.Reason + ")" }

// Remote returns the socket of an xenactor-simhost's hypervisor, "" for
// the other kinds.
func (c Choice) Remote() string {
	if strings.HasPrefix(c.Kind, unixPrefix) {
		return strings.TrimPrefix(c.Kind, unixPrefix)
	}
	return ""
}

// ChooseHypervisor resolves c.Hypervisor: HypervisorAuto is HypervisorXen
// when c.XenCapabilities says control_d and the build has the Xen backend
// (xen.Supported), HypervisorSim otherwise. It checks the flags that go
// with the choice; a bad combination is an ErrUsage.
func (c Config) ChooseHypervisor() (Choice, error) {
	ch, err := c.choose()
	if err != nil {
		return Choice{}, err
	}
	switch {
	case ch.Kind == HypervisorSim:
		if c.Xenstored != "" {
			return Choice{}, fmt.Errorf("%w: -xenstored %q: an external xenstored is not supported with the embedded "+
				"simulated hypervisor; use it with -hypervisor unix:<path> of the same host", ErrUsage, c.Xenstored)
		}
	case ch.Kind == HypervisorXen:
		if c.Switch != "" && c.Switch != SwitchSim {
			return Choice{}, fmt.Errorf("%w: -switch %q: the switch of a Xen host is the host's (its Linux "+
				"bridges, or its Open vSwitch)", ErrUsage, c.Switch)
		}
		if c.EmuManager != "" || c.Xenguest != "" {
			return Choice{}, fmt.Errorf("%w: -emu-manager and -xenguest reach the simulated host's hypervisor "+
				"socket: not with -hypervisor xen", ErrUsage)
		}
	default:
		if c.Switch != "" && c.Switch != SwitchSim {
			return Choice{}, fmt.Errorf("%w: -switch %q: the switch of a simulated host in its own process is that "+
				"host's", ErrUsage, c.Switch)
		}
		if ch.Remote() == "" {
			return Choice{}, fmt.Errorf("%w: -hypervisor %q: no socket path", ErrUsage, c.Hypervisor)
		}
		if c.Xenstored == "" {
			return Choice{}, fmt.Errorf("%w: -hypervisor %q needs -xenstored, the socket of that host's xenstored",
				ErrUsage, c.Hypervisor)
		}
	}
	return ch, nil
}

func (c Config) choose() (Choice, error) {
	switch {
	case c.Hypervisor == HypervisorSim:
		return Choice{Kind: HypervisorSim, Reason: "-hypervisor sim"}, nil
	case c.Hypervisor == HypervisorXen:
		if !xen.Supported {
			return Choice{}, fmt.Errorf("%w: -hypervisor xen: this build has no Xen support: build with -tags xen "+
				"(make build-xen)", ErrUsage)
		}
		return Choice{Kind: HypervisorXen, Reason: "-hypervisor xen"}, nil
	case strings.HasPrefix(c.Hypervisor, unixPrefix):
		return Choice{Kind: c.Hypervisor, Reason: "an xenactor-simhost"}, nil
	case c.Hypervisor != HypervisorAuto:
		return Choice{}, fmt.Errorf("%w: -hypervisor %q: want %q, %q or unix:<path>", ErrUsage, c.Hypervisor,
			HypervisorSim, HypervisorXen)
	}
	caps := c.XenCapabilities
	if caps == "" {
		caps = xen.CapabilitiesPath
	}
	dom0, err := xen.ControlDomain(caps)
	switch {
	case err != nil:
		return Choice{Kind: HypervisorSim, Reason: fmt.Sprintf("no Xen control domain: %v", err)}, nil
	case !dom0:
		return Choice{Kind: HypervisorSim, Reason: "no Xen control domain"}, nil
	case !xen.Supported:
		return Choice{Kind: HypervisorSim, Reason: "control domain found in " + caps +
			", but this build has no Xen support: build with -tags xen"}, nil
	}
	return Choice{Kind: HypervisorXen, Reason: "control domain found in " + caps}, nil
}
