package evacbench

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/xenactor/xenactor/bench/internal/procstat"
	"github.com/xenactor/xenactor/bench/loadbench"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// StormConfig is a migration storm: the flags of `xenactor-bench migstorm`
// and the fields of its -f file, with the same names.
type StormConfig struct {
	// Hosts is the pool's size (2 to 26); VMs the running VMs, spread over
	// the hosts, MemoryMiB the memory of each.
	Hosts     int    `json:"hosts"`
	VMs       int    `json:"vms"`
	MemoryMiB uint64 `json:"memory_mib"`
	// Concurrency is the migrations in flight at once, for Duration.
	Concurrency int                `json:"concurrency"`
	Duration    loadbench.Duration `json:"duration"`
	// Seed seeds the order of the VMs and the choice of destinations.
	Seed uint64 `json:"seed"`
	// Live and Compress are the migrations' options (MigrateVMToHost).
	Live     bool `json:"live"`
	Compress bool `json:"compress"`
	// Parallel is how many VMs are created and started at once.
	Parallel int `json:"parallel"`
	// Xenactord and Etcd are the binaries; "" builds xenactord and looks
	// etcd up in PATH.
	Xenactord string `json:"xenactord,omitempty"`
	Etcd      string `json:"etcd,omitempty"`
}

// DefaultStormConfig returns the storm's defaults.
func DefaultStormConfig() StormConfig {
	return StormConfig{Hosts: 2, VMs: 20, MemoryMiB: DefaultMemoryMiB, Concurrency: 4,
		Duration: loadbench.Duration(30 * time.Second), Seed: 1, Live: true, Parallel: DefaultParallel}
}

// Validate checks c.
func (c *StormConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("evacbench: migstorm: "+format+": %w", append(args, errdefs.ErrInvalid)...)
	}
	switch {
	case c.Hosts < 2 || c.Hosts > 26:
		return bad("%d hosts: from 2 to 26", c.Hosts)
	case c.VMs < 1:
		return bad("%d VMs", c.VMs)
	case c.MemoryMiB < 1:
		return bad("%d MiB per VM", c.MemoryMiB)
	case c.Concurrency < 1 || c.Concurrency > c.VMs:
		return bad("concurrency %d: from 1 to the VMs (%d), as a VM is in one migration at a time", c.Concurrency,
			c.VMs)
	case c.Duration <= 0:
		return bad("duration %s", c.Duration)
	case c.Parallel < 1:
		return bad("parallel %d", c.Parallel)
	}
	return nil
}

// bind defines c's flags on fs, with c's values as defaults.
func (c *StormConfig) bind(fs *flag.FlagSet) {
	fs.IntVar(&c.Hosts, "hosts", c.Hosts, "xenactord processes in the pool (2 to 26)")
	fs.IntVar(&c.VMs, "vms", c.VMs, "running VMs, spread over the hosts")
	fs.Uint64Var(&c.MemoryMiB, "memory", c.MemoryMiB, "memory of each VM in MiB")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "migrations in flight at once")
	fs.Var(&c.Duration, "duration", "how long migrations are started")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the VMs' order and of the destinations")
	fs.BoolVar(&c.Live, "live", c.Live, "live migrations (pre-copy while the guest runs)")
	fs.BoolVar(&c.Compress, "compress", c.Compress, "compress the memory stream")
	fs.IntVar(&c.Parallel, "parallel", c.Parallel, "VMs created and started at once")
	fs.StringVar(&c.Xenactord, "xenactord", c.Xenactord, "xenactord binary (default: go build it)")
	fs.StringVar(&c.Etcd, "etcd", c.Etcd, "etcd binary (Debian's etcd-server; default: etcd in PATH)")
}

// ParseStormArgs parses the arguments of `xenactor-bench migstorm`: the
// config's flags, -f <file.json> (a StormConfig as JSON; flags given as
// well override its fields) and the output flags (loadbench.Output's).
func ParseStormArgs(args []string) (StormConfig, loadbench.Output, error) {
	c, out, err := loadbench.ParseConfig("migstorm", args, DefaultStormConfig, (*StormConfig).bind, nil)
	if err != nil {
		return c, out, err
	}
	return c, out, c.Validate()
}

// StormOptions are how RunStorm runs, beside its StormConfig.
type StormOptions struct {
	// Worker returns the command of the worker process, which must run
	// WorkerMain; nil re-executes this program as `<it> evac-worker`.
	Worker func() *exec.Cmd
	// Progress, if set, receives progress lines.
	Progress func(format string, args ...any)
}

// RunStorm starts etcd and the pool, runs the storm from a worker process
// through the public client and stops everything, returning the report.
// Its error says why there is no report; a report may still hold errors
// and violations (StormReport.Problems).
func RunStorm(ctx context.Context, c StormConfig, o StormOptions) (*StormReport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	eo := Options{Hosts: c.Hosts, VMs: c.VMs, MemoryMiB: c.MemoryMiB, Worker: o.Worker, Progress: o.Progress}
	if err := eo.defaults(); err != nil {
		return nil, err
	}
	p, err := startPool(ctx, poolConfig{Hosts: c.Hosts, HostMemoryMiB: hostMemoryMiB(eo), Xenactord: c.Xenactord,
		Etcd: c.Etcd, Progress: eo.Progress})
	if err != nil {
		return nil, err
	}
	defer p.close()
	w, err := startWorker(eo.Worker())
	if err != nil {
		return nil, err
	}
	defer w.kill()
	cfg := workerConfig{ClientConfig: p.clientConfig(), Source: hostName(0), Hosts: p.names, VMs: c.VMs,
		MemoryKiB: c.MemoryMiB << 10, Parallel: c.Parallel, Mode: modeStorm,
		Storm: &stormJob{Duration: time.Duration(c.Duration), Concurrency: c.Concurrency, Seed: c.Seed,
			Live: c.Live, Compress: c.Compress}}
	u := newUsage(p.names, p.pids())
	res, err := w.run(ctx, cfg, eo.Progress, u.phase)
	if err != nil {
		return nil, err
	}
	if res.Error != "" {
		return nil, fmt.Errorf("evacbench worker: %s", res.Error)
	}
	if res.Storm == nil {
		return nil, fmt.Errorf("evacbench worker: no storm result")
	}
	if err := w.wait(); err != nil {
		return nil, err
	}
	rep := newStormReport(c, res.Storm, u.daemons())
	rep.DaemonExit = p.stopHosts()
	return rep, nil
}

// usage reads the hosts' CPU time and memory when the storm begins and
// ends (the worker's phases).
type usage struct {
	names []string
	pids  []int

	mu         sync.Mutex
	cpu0, cpu1 []float64
}

func newUsage(names []string, pids []int) *usage {
	return &usage{names: names, pids: pids}
}

// phase reads the CPU times at the phase's start.
func (u *usage) phase(name string) {
	cpu := make([]float64, len(u.pids))
	for i, pid := range u.pids {
		cpu[i], _ = procstat.CPUSeconds(pid)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch name {
	case phaseStorm:
		u.cpu0 = cpu
	case phaseDone:
		u.cpu1 = cpu
	}
}

// daemons returns each host's use during the storm, and its memory now.
func (u *usage) daemons() []DaemonUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]DaemonUsage, len(u.pids))
	for i, pid := range u.pids {
		d := DaemonUsage{Host: u.names[i], PID: pid}
		if u.cpu0 != nil && u.cpu1 != nil {
			d.CPUSeconds = u.cpu1[i] - u.cpu0[i]
		}
		d.RSSKiB, d.PeakRSSKiB, _ = procstat.Memory(pid)
		out[i] = d
	}
	return out
}
