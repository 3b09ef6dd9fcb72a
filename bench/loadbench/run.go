package loadbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/xenactor/xenactor/bench/internal/procstat"
)

// WorkerGOMAXPROCS is the GOMAXPROCS of the worker processes, which share
// the machine's cores with the daemon.
const WorkerGOMAXPROCS = 2

// stepSlack is how much longer than its own duration a step may take.
const stepSlack = 30 * time.Minute

// Options are how Run runs, beside the scenario's Config.
type Options struct {
	// Worker returns the command of a worker process, which must run
	// WorkerMain; nil re-executes this program as `<it> load-worker`.
	Worker func() *exec.Cmd
	// Progress, if set, receives the live progress line (rewritten with
	// \r) and a line per step.
	Progress io.Writer
}

// run is one Run in progress.
type run struct {
	c       Config
	o       Options
	t       *target
	workers []*worker
	start   time.Time
	rep     *Report
	// rss0 and simRSS0 are the processes' resident memory before the
	// scenario, the base of the memory per VM.
	rss0, simRSS0 uint64
	cpu0, simCPU0 float64
}

// Run runs the scenario c and returns its report. Failed operations are
// in the report; an error means the scenario could not run (a daemon or a
// worker that did not start or died).
func Run(ctx context.Context, c Config, o Options) (_ *Report, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if o.Worker == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("loadbench: this program's path, to run its workers: %w", err)
		}
		o.Worker = func() *exec.Cmd { return exec.Command(exe, "load-worker") }
	}
	r := &run{c: c, o: o, rep: &Report{Config: c}}
	dir, err := os.MkdirTemp("", "xlb")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	if c.Config != "" {
		r.t = &target{config: c.Config, pid: c.PID, metrics: c.Metrics}
	} else {
		vms := c.VMs
		if c.Scenario == ScenarioScale {
			vms = c.Levels[len(c.Levels)-1] + c.Probe
		}
		// Room for every VM, dom0 and slack.
		hostMiB := uint64(vms+1)*(c.MemoryMiB+1) + 1024
		if r.t, err = startTarget(ctx, c, dir, hostMiB, r.logf); err != nil {
			return nil, err
		}
	}
	defer func() {
		if exit := r.t.stop(); exit != "" {
			r.rep.DaemonExit = exit
		}
	}()
	r.baseline()
	if err := r.startWorkers(ctx); err != nil {
		return nil, err
	}
	defer func() {
		for _, w := range r.workers {
			if serr := w.stop(30 * time.Second); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	r.start = time.Now()
	r.rep.Started = r.start
	switch c.Scenario {
	case ScenarioStorm:
		err = r.storm(ctx)
	case ScenarioScale:
		err = r.scale(ctx)
	default:
		err = r.timedScenario(ctx)
	}
	if err != nil {
		return nil, err
	}
	r.usage()
	r.rep.finish(r.start)
	return r.rep, nil
}

// logf writes a progress line.
func (r *run) logf(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "\r\033[K"+format+"\n", args...)
	}
}

// baseline reads the processes' CPU time and memory before the scenario.
func (r *run) baseline() {
	if r.t.pid != 0 {
		r.cpu0, _ = procstat.CPUSeconds(r.t.pid)
		r.rss0, _, _ = procstat.Memory(r.t.pid)
	}
	if r.t.simPID != 0 {
		r.simCPU0, _ = procstat.CPUSeconds(r.t.simPID)
		r.simRSS0, _, _ = procstat.Memory(r.t.simPID)
	}
}

// usage fills the report's resource use of the processes.
func (r *run) usage() {
	read := func(pid int, cpu0 float64) *Usage {
		cpu, err := procstat.CPUSeconds(pid)
		if err != nil {
			return nil
		}
		rss, hwm, _ := procstat.Memory(pid)
		return &Usage{PID: pid, CPUSeconds: cpu - cpu0, PeakRSSKiB: hwm, RSSKiB: rss}
	}
	if r.t.pid != 0 {
		r.rep.Daemon = read(r.t.pid, r.cpu0)
	}
	if r.t.simPID != 0 {
		r.rep.SimHost = read(r.t.simPID, r.simCPU0)
	}
}

// perVM samples the memory per running VM now that running VMs run.
func (r *run) perVM(running int) (daemonKiB, simKiB float64, rss, simRSS uint64) {
	if running == 0 {
		return 0, 0, 0, 0
	}
	if r.t.pid != 0 {
		rss, _, _ = procstat.Memory(r.t.pid)
		daemonKiB = (float64(rss) - float64(r.rss0)) / float64(running)
	}
	if r.t.simPID != 0 {
		simRSS, _, _ = procstat.Memory(r.t.simPID)
		simKiB = (float64(simRSS) - float64(r.simRSS0)) / float64(running)
	}
	return daemonKiB, simKiB, rss, simRSS
}

// startWorkers starts Conns workers and waits for their connections.
func (r *run) startWorkers(ctx context.Context) error {
	r.logf("starting %d worker(s)", r.c.Conns)
	for range r.c.Conns {
		cmd := r.o.Worker()
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", WorkerGOMAXPROCS))
		w, err := startWorker(cmd, r.t.config)
		if err != nil {
			r.killWorkers()
			return err
		}
		r.workers = append(r.workers, w)
	}
	rctx, cancel := context.WithTimeout(ctx, dialTimeout+time.Minute)
	defer cancel()
	for _, w := range r.workers {
		if err := w.ready(rctx); err != nil {
			r.killWorkers()
			return fmt.Errorf("loadbench: a worker's connection: %w", err)
		}
	}
	return nil
}

func (r *run) killWorkers() {
	for _, w := range r.workers {
		w.kill()
	}
	r.workers = nil
}

// step runs the job tmpl on the first n workers (all when n is 0), each
// with its share of uuids and of the goroutines, and returns their
// results; the progress line shows it as name.
func (r *run) step(ctx context.Context, name string, tmpl Job, uuids []string, n int) ([]Result, error) {
	if n == 0 || n > len(r.workers) {
		n = len(r.workers)
	}
	g := r.c.Concurrency
	for i := range n {
		j := tmpl
		j.Goroutines = g/n + btoi(i < g%n)
		j.UUIDs = nil
		for k := i; k < len(uuids); k += n {
			j.UUIDs = append(j.UUIDs, uuids[k])
		}
		if err := r.workers[i].send(j); err != nil {
			return nil, fmt.Errorf("loadbench: a worker's stdin: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, time.Duration(tmpl.Duration)+stepSlack)
	defer cancel()
	done := make(chan struct{})
	var wg sync.WaitGroup
	if r.o.Progress != nil {
		wg.Go(func() { r.live(name, r.workers[:n], done) })
	}
	results := make([]Result, n)
	var errs []error
	for i := range n {
		var err error
		results[i], err = r.workers[i].result(sctx)
		errs = append(errs, err)
	}
	close(done)
	wg.Wait()
	ops, failed := 0, 0
	var el time.Duration
	for _, x := range results {
		el = max(el, x.Elapsed)
		ops += x.Events
		for _, pts := range x.Points {
			ops += len(pts)
		}
		for _, n := range x.Errors {
			failed += n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return results, err
	}
	r.logf("%s %s: %d ops, %.1f ops/s, %d errors in %s", r.c.Scenario, name, ops,
		float64(ops)/max(el.Seconds(), 1e-9), failed, el.Round(time.Millisecond))
	return results, nil
}

// live rewrites the progress line of step name until done is closed.
func (r *run) live(name string, ws []*worker, done chan struct{}) {
	t0 := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	line := func() {
		var p Progress
		for _, w := range ws {
			q := w.latest()
			p.Ops += q.Ops
			p.Errors += q.Errors
			p.Running += q.Running
		}
		el := time.Since(t0)
		fmt.Fprintf(r.o.Progress, "\r\033[K%s %s: %d ops, %.1f ops/s, %d errors, %s elapsed (run %s)",
			r.c.Scenario, name, p.Ops, float64(p.Ops)/el.Seconds(), p.Errors, el.Round(100*time.Millisecond),
			time.Since(r.start).Round(time.Second))
	}
	for {
		select {
		case <-done:
			fmt.Fprint(r.o.Progress, "\r\033[K")
			return
		case <-tick.C:
			line()
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uuids returns the uuids of VMs from to to-1.
func uuids(from, to int, probe bool) []string {
	out := make([]string, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		out = append(out, vmUUID(i, probe))
	}
	return out
}
