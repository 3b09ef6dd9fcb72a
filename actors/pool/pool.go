package pool

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The defaults of Config.
const (
	DefaultTTL            = 3 * time.Second
	DefaultReportInterval = time.Second
	DefaultPollInterval   = 500 * time.Millisecond
)

// ForwarderName is the name of the forwarder actor on each member's pool
// actor system.
const ForwarderName = "xenactor-host"

// Local runs an API request on this host's api actor.
type Local func(ctx context.Context, req *messages.Request) (*messages.Response, error)

// Config configures a pool member.
type Config struct {
	// Pool is the pool's name, its key prefix in etcd.
	Pool string
	// Host is this host's name, unique in the pool.
	Host string
	// Address is the pool address to listen on, host:port (port 0 picks
	// one); the member advertises the address it listens on.
	Address string
	// Etcd is the membership store.
	Etcd *etcd.Client
	// Credentials are the member's TLS material.
	Credentials *apiwire.PoolCredentials
	// Local runs requests on this host's api actor; required.
	Local Local
	// Migrate live-migrates a VM between members, for Evacuate; nil is
	// Pool.Migrate.
	Migrate MigrateFunc
	// TTL is the lease of the member's key: a member that stops renewing
	// it is gone after TTL. 0 is DefaultTTL.
	TTL time.Duration
	// ReportInterval is how often the member writes its figures and VMs to
	// etcd; 0 is DefaultReportInterval.
	ReportInterval time.Duration
	// PollInterval is how often the member reads the members from etcd
	// while it cannot watch them (a watch reports changes at once; with
	// one, the members are read every 10 PollIntervals too); 0 is
	// DefaultPollInterval.
	PollInterval time.Duration
	// Logger logs membership changes; nil logs nothing.
	Logger *slog.Logger
}

// hostName is what a host name may be: it names files and etcd keys.
var hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidHostName reports whether name can name a pool member.
func ValidHostName(name string) bool { return hostName.MatchString(name) }

// Pool is a running pool member.
type Pool struct {
	cfg      Config
	log      *slog.Logger
	system   *actor.ActorSystem
	cluster  *cluster.Cluster
	provider *provider
	stop     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	// joined is set once the cluster member started.
	joined bool
	// migrate is the migration address the member publishes
	// (SetMigrateAddr).
	migrate atomic.Pointer[string]

	stopOnce sync.Once
}

// Start joins the pool: it starts the pool's actor system, its remote on
// cfg.Address with mutual TLS, the cluster with the etcd provider and the
// forwarder, and the reports. A host name already held by a live member at
// another address is errdefs.ErrExists; an address it cannot listen on
// ErrUnavailable.
func Start(ctx context.Context, cfg Config) (_ *Pool, err error) {
	if cfg.Pool == "" || !ValidHostName(cfg.Pool) {
		return nil, fmt.Errorf("%w: pool name %q", errdefs.ErrInvalid, cfg.Pool)
	}
	if !ValidHostName(cfg.Host) {
		return nil, fmt.Errorf("%w: pool host name %q: letters, digits, '.', '_' and '-'", errdefs.ErrInvalid, cfg.Host)
	}
	if cfg.Etcd == nil || cfg.Credentials == nil || cfg.Local == nil {
		return nil, fmt.Errorf("%w: a pool member needs etcd, credentials and the local API", errdefs.ErrInvalid)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: pool address %q: %v", errdefs.ErrInvalid, cfg.Address, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: pool address %q: bad port", errdefs.ErrInvalid, cfg.Address)
	}
	p := &Pool{cfg: cfg, log: cfg.Logger}
	p.stop, p.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			_ = p.Stop()
		}
	}()
	if err := p.checkUnique(ctx); err != nil {
		return nil, err
	}
	p.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return cfg.Logger.With("lib", "protoactor", "system", "pool")
	}))
	// Member ids are never reused (the cluster blocks a member that left
	// for good): the host name, then this incarnation.
	p.system.ID = cfg.Host + "@" + p.system.ID
	serverOpts, dialOpts := apiwire.PoolRemoteOptions(cfg.Credentials, cfg.Logger)
	rcfg := remote.Configure(host, port, remote.WithServerOptions(serverOpts...), remote.WithDialOptions(dialOpts...))
	rcfg.MaxRetryCount = 2
	p.provider = newProvider(p)
	ccfg := cluster.Configure(cfg.Pool, p.provider, disthash.New(), rcfg)
	p.cluster = cluster.New(p.system, ccfg)
	if err := startMember(p.cluster); err != nil {
		return nil, fmt.Errorf("%w: pool member on %s: %v", errdefs.ErrUnavailable, cfg.Address, err)
	}
	p.joined = true
	if _, err := p.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &forwarder{pool: p}
	}), ForwarderName); err != nil {
		return nil, fmt.Errorf("pool: spawning the forwarder: %w", err)
	}
	p.wg.Add(1)
	go p.report()
	return p, nil
}

// startMember starts c, turning the library's panics (an address it
// cannot listen on, a provider that fails) into an error.
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	c.StartMember()
	return nil
}

// Self returns this host's name.
func (p *Pool) Self() string { return p.cfg.Host }

// Addr returns the pool address the member listens on.
func (p *Pool) Addr() string { return p.system.Address() }

// Stop leaves the pool: the member's key is revoked at once (the others see
// it leave, not die), then the remote stops. Stop is idempotent.
func (p *Pool) Stop() error {
	p.stopOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		if p.provider != nil {
			_ = p.provider.Shutdown(true)
		}
		switch {
		case p.joined:
			p.cluster.Shutdown(false)
		case p.system != nil:
			p.system.Shutdown()
			// A start that failed after the remote listened (the provider
			// could not register) leaves it to stop.
			if p.provider != nil && p.provider.c != nil && p.cluster.Remote != nil {
				p.cluster.Remote.Shutdown(false)
			}
		}
	})
	return nil
}

// key returns the etcd key of kind ("members", "hosts", "vms") for host.
func (p *Pool) key(kind, host string) string {
	return "/xenactor/pools/" + p.cfg.Pool + "/" + kind + "/" + host
}

// prefix returns the etcd prefix of kind.
func (p *Pool) prefix(kind string) string {
	return "/xenactor/pools/" + p.cfg.Pool + "/" + kind + "/"
}
