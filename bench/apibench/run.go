package apibench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of Options.
const (
	DefaultDuration  = 2 * time.Second
	DefaultVMs       = 500
	DefaultMemoryKiB = 64 << 10
)

// DefaultClients are the default client counts.
var DefaultClients = []int{1, 50}

// WorkerGOMAXPROCS is the GOMAXPROCS of the worker processes: many of them
// share the machine's cores with the daemon, and each runs one client.
const WorkerGOMAXPROCS = 1

// phaseSlack is how much longer than its own length a phase may take.
const phaseSlack = 10 * time.Minute

// StartInProcess starts the daemon in the calling process, with its
// directories under dir (a short path) and hostMiB of simulated host
// memory, and returns a client of its api actor and the function that
// stops the daemon.
type StartInProcess func(ctx context.Context, dir string, hostMiB uint64) (*client.Client, func() error, error)

// Options configures Run.
type Options struct {
	// Clients are the numbers of concurrent clients, each measured on
	// both paths (DefaultClients when empty).
	Clients []int
	// PerConn are the numbers of goroutines each client runs at once
	// over its connection (one API connection per worker; in process
	// Clients * PerConn goroutines), each measured at every client count
	// ([1] when empty).
	PerConn []int
	// Count is the number of runs of both paths (1 when 0), the order of
	// the paths alternating; each row of the report is the run with the
	// median ops/s.
	Count int
	// Duration is the length of the stat scenario (DefaultDuration).
	Duration time.Duration
	// VMs is the number of VMs of the VM operations at each client count,
	// shared by the clients (DefaultVMs); MemoryKiB each one's memory
	// (DefaultMemoryKiB).
	VMs       int
	MemoryKiB uint64
	// Xenactord is the daemon's binary; "" builds it (BuildXenactord).
	Xenactord string
	// Worker returns the command of a worker process, which must run
	// WorkerMain; nil re-executes this program as `<it> api-worker`.
	Worker func() *exec.Cmd
	// InProcess starts the daemon of the in-process path; required.
	InProcess StartInProcess
	// Progress, if set, receives a line per step.
	Progress func(format string, args ...any)
}

// runner runs the phases of phases[i] on client i of a path, on one
// goroutine each, and returns their samples.
type runner func(ctx context.Context, phases [][]Phase) ([][]Sample, error)

// Run runs the scenarios on the in-process path, then on the API path
// (Count times, alternating the order), and returns the report. Failed calls are in the report; an error means a
// path could not run (a daemon or a worker that did not start or died).
func Run(ctx context.Context, o Options) (*Report, error) {
	if len(o.Clients) == 0 {
		o.Clients = DefaultClients
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if o.MemoryKiB == 0 {
		o.MemoryKiB = DefaultMemoryKiB
	}
	if o.InProcess == nil {
		return nil, fmt.Errorf("apibench: Options.InProcess is required: %w", errdefs.ErrInvalid)
	}
	if len(o.PerConn) == 0 {
		o.PerConn = []int{1}
	}
	for _, n := range append(slices.Clone(o.Clients), o.PerConn...) {
		if n < 1 {
			return nil, fmt.Errorf("apibench: %d clients or goroutines per client: %w", n, errdefs.ErrInvalid)
		}
	}
	if o.Count <= 0 {
		o.Count = 1
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Worker == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("apibench: this program's path, to run its workers: %w", err)
		}
		o.Worker = func() *exec.Cmd { return exec.Command(exe, "api-worker") }
	}
	// Room for every VM of a phase running at once, the stat VM and dom0.
	hostMiB := uint64(o.VMs+1)*((o.MemoryKiB>>10)+1) + 1024

	dir, err := os.MkdirTemp("", "xab")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Clients: o.Clients, PerConn: o.PerConn, Count: o.Count, Duration: o.Duration, VMs: o.VMs,
		MemoryKiB: o.MemoryKiB, WorkerGOMAXPROCS: WorkerGOMAXPROCS}

	bin := o.Xenactord
	if bin == "" {
		o.Progress("building xenactord")
		if bin, err = BuildXenactord(ctx, dir); err != nil {
			return nil, err
		}
	}

	rep.DaemonExit = "clean"
	var runs [][]Row
	for k := range o.Count {
		// The order of the paths alternates, so that drift of the machine
		// affects both.
		var rows []Row
		for _, path := range pathOrder(k) {
			pdir := filepath.Join(dir, fmt.Sprintf("%s%d", path[:1], k))
			if err := os.Mkdir(pdir, 0o700); err != nil {
				return nil, err
			}
			if o.Count > 1 {
				o.Progress("run %d of %d: %s", k+1, o.Count, path)
			}
			var r []Row
			if path == PathAPI {
				var exit string
				if r, exit, err = runAPIPath(ctx, o, bin, pdir, hostMiB); err == nil && exit != "clean" {
					rep.DaemonExit = exit
				}
			} else {
				r, err = runInProcess(ctx, o, pdir, hostMiB)
			}
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
		runs = append(runs, rows)
	}
	rep.Rows = medians(runs)
	ratios(rep.Rows)
	return rep, nil
}

// pathOrder is the order of the paths in run k.
func pathOrder(k int) []string {
	if k%2 == 1 {
		return []string{PathAPI, PathInProcess}
	}
	return []string{PathInProcess, PathAPI}
}

// runInProcess starts the in-process daemon in dir, runs every step on it
// and stops it.
func runInProcess(ctx context.Context, o Options, dir string, hostMiB uint64) ([]Row, error) {
	o.Progress("in process: starting the daemon")
	c, stop, err := o.InProcess(ctx, dir, hostMiB)
	if err != nil {
		return nil, fmt.Errorf("apibench: the in-process daemon: %w", err)
	}
	var rows []Row
	for i, n := range o.Clients {
		for j, m := range o.PerConn {
			r, err := runCount(ctx, o, PathInProcess, i*len(o.PerConn)+j, n, m, goroutines(c))
			rows = append(rows, r...)
			if err != nil {
				_ = stop()
				return nil, err
			}
		}
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("apibench: stopping the in-process daemon: %w", err)
	}
	return rows, nil
}

// runAPIPath starts xenactord bin in dir, runs every step through workers
// and stops it; exit is "clean" when it exited with status 0, else why not.
func runAPIPath(ctx context.Context, o Options, bin, dir string, hostMiB uint64) (_ []Row, exit string, _ error) {
	o.Progress("api: starting %s", bin)
	d, err := startXenactord(ctx, bin, dir, hostMiB)
	if err != nil {
		return nil, "", err
	}
	var rows []Row
	for i, n := range o.Clients {
		r, err := runAPI(ctx, o, d, i, n)
		rows = append(rows, r...)
		if err != nil {
			d.kill()
			return nil, "", err
		}
	}
	if err := d.stop(); err != nil {
		return rows, err.Error(), nil
	}
	return rows, "clean", nil
}

// runAPI starts n workers on d, runs the client count at position pos on
// them with each number of goroutines per connection, and stops them.
func runAPI(ctx context.Context, o Options, d *daemonProc, pos, n int) (_ []Row, err error) {
	o.Progress("api: %d clients: starting %d workers", n, n)
	workers := make([]*worker, 0, n)
	defer func() {
		if err != nil {
			for _, w := range workers {
				w.kill()
			}
		}
	}()
	for range n {
		cmd := o.Worker()
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", WorkerGOMAXPROCS))
		w, err := startWorker(cmd, d.config)
		if err != nil {
			return nil, err
		}
		workers = append(workers, w)
	}
	rctx, cancel := context.WithTimeout(ctx, dialTimeout+time.Minute)
	defer cancel()
	for _, w := range workers {
		if err := w.ready(rctx); err != nil {
			return nil, fmt.Errorf("apibench: a worker's connection: %w", err)
		}
	}
	run := func(ctx context.Context, phases [][]Phase) ([][]Sample, error) {
		for i, p := range phases {
			if err := workers[i].send(p); err != nil {
				return nil, fmt.Errorf("apibench: a worker's stdin: %w", err)
			}
		}
		samples := make([][]Sample, len(phases))
		var errs []error
		for i := range phases {
			var err error
			samples[i], err = workers[i].result(ctx)
			errs = append(errs, err)
		}
		return samples, errors.Join(errs...)
	}
	var rows []Row
	for j, m := range o.PerConn {
		r, err := runCount(ctx, o, PathAPI, pos*len(o.PerConn)+j, n, m, run)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	for _, w := range workers {
		_ = w.stdin.Close()
	}
	for _, w := range workers {
		if err := w.stop(30 * time.Second); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// goroutines is the in-process runner: one goroutine per phase, all on c.
func goroutines(c *client.Client) runner {
	return func(ctx context.Context, phases [][]Phase) ([][]Sample, error) {
		samples := make([][]Sample, len(phases))
		errs := make([]error, len(phases))
		var wg sync.WaitGroup
		for i, p := range phases {
			wg.Go(func() { samples[i], errs[i] = runPhases(ctx, c, p) })
		}
		wg.Wait()
		return samples, errors.Join(errs...)
	}
}

// runCount runs the scenarios with n clients of m goroutines each through
// run: at the first step (pos 0) one goroutine prepares the stat VM; then
// the stat round trips, then the VM operations on this step's VMs.
func runCount(ctx context.Context, o Options, path string, pos, n, m int, run runner) ([]Row, error) {
	if pos == 0 {
		pctx, cancel := context.WithTimeout(ctx, phaseSlack)
		_, err := run(pctx, [][]Phase{{{Scenario: ScenarioPrepare, UUID: statUUID, MemoryKiB: o.MemoryKiB}}})
		cancel()
		if err != nil {
			return nil, err
		}
	}
	var rows []Row
	phases := func(p Phase) [][]Phase {
		out := make([][]Phase, n)
		for i := range out {
			out[i] = make([]Phase, m)
			for j := range out[i] {
				out[i][j] = p
			}
		}
		return out
	}

	o.Progress("%s: %d clients x %d: stat for %s", path, n, m, o.Duration)
	pctx, cancel := context.WithTimeout(ctx, o.Duration+phaseSlack)
	samples, err := run(pctx, phases(Phase{Scenario: ScenarioStat, Duration: o.Duration, UUID: statUUID}))
	cancel()
	if err != nil {
		return rows, err
	}
	rows = append(rows, aggregate(ScenarioStat, path, n, m, samples, OpStat))

	o.Progress("%s: %d clients x %d: %d VMs through %v", path, n, m, o.VMs, VMOps)
	vp := phases(Phase{Scenario: ScenarioVMOps, MemoryKiB: o.MemoryKiB})
	for v := range o.VMs {
		slot := v % (n * m)
		p := &vp[slot%n][slot/n]
		p.UUIDs = append(p.UUIDs, vmUUID(pos, v))
	}
	pctx, cancel = context.WithTimeout(ctx, phaseSlack)
	samples, err = run(pctx, vp)
	cancel()
	if err != nil {
		return rows, err
	}
	rows = append(rows, aggregate(ScenarioVMOps, path, n, m, samples, VMOps...))
	for _, op := range VMOps {
		rows = append(rows, aggregate(ScenarioVMOps+"/"+op, path, n, m, samples, op))
	}
	return rows, nil
}
