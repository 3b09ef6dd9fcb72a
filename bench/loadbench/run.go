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
		r.cpu0, _ = cpuSeconds(r.t.pid)
		r.rss0, _, _ = memory(r.t.pid)
	}
	if r.t.simPID != 0 {
		r.simCPU0, _ = cpuSeconds(r.t.simPID)
		r.simRSS0, _, _ = memory(r.t.simPID)
	}
}

// usage fills the report's resource use of the processes.
func (r *run) usage() {
	read := func(pid int, cpu0 float64) *Usage {
		cpu, err := cpuSeconds(pid)
		if err != nil {
			return nil
		}
		rss, hwm, _ := memory(pid)
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
		rss, _, _ = memory(r.t.pid)
		daemonKiB = (float64(rss) - float64(r.rss0)) / float64(running)
	}
	if r.t.simPID != 0 {
		simRSS, _, _ = memory(r.t.simPID)
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

// job is the template of the scenario's jobs of kind.
func (r *run) job(kind string) Job {
	j := Job{Kind: kind, MemoryKiB: r.c.MemoryMiB << 10, Weights: r.c.Weights, Seed: r.c.Seed}
	if r.c.Scenario == ScenarioGuests {
		j.Kernel = "sim:linux,agent=" + r.c.Interval.String()
	}
	return j
}

// storm creates and starts the VMs, measured, then removes them.
func (r *run) storm(ctx context.Context) error {
	vms := uuids(0, r.c.VMs, false)
	res, err := r.step(ctx, "create+start", r.job(jobSetup), vms, 0)
	if err != nil {
		return err
	}
	r.rep.measured(res, r.start)
	r.memoryAt(res)
	return r.teardown(ctx, vms)
}

// memoryAt records the memory per VM with the VMs the results left running.
func (r *run) memoryAt(res []Result) {
	running := 0
	for _, x := range res {
		running += x.Running
	}
	r.rep.RunningVMs = running
	r.rep.DaemonPerVMKiB, r.rep.SimHostPerVMKiB, _, _ = r.perVM(running)
}

// teardown removes vms; its failures are the report's cleanup errors.
func (r *run) teardown(ctx context.Context, vms []string) error {
	res, err := r.step(ctx, "teardown", r.job(jobTeardown), vms, 0)
	r.rep.unmeasured(res)
	return err
}

// timedScenario sets up the VMs of churn, guests or hotplug (unmeasured),
// runs the scenario for its duration and removes them.
func (r *run) timedScenario(ctx context.Context) error {
	vms := uuids(0, r.c.VMs, false)
	res, err := r.step(ctx, "setup", r.job(jobSetup), vms, 0)
	r.rep.unmeasured(res)
	if err != nil {
		return err
	}
	r.memoryAt(res)
	j := r.job(r.c.Scenario)
	j.Duration = r.c.Duration
	var before map[string]float64
	n := 0
	if r.c.Scenario == ScenarioGuests {
		n = 1 // one follower of the update stream
		if before, err = r.guestCounters(ctx); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if res, err = r.step(ctx, r.c.Scenario, j, vms, n); err != nil {
		return err
	}
	r.rep.measured(res, r.start)
	if r.c.Scenario == ScenarioGuests {
		el := time.Since(t0).Seconds()
		after, err := r.guestCounters(ctx)
		if err != nil {
			return err
		}
		r.rep.Rates = map[string]float64{}
		if before != nil {
			r.rep.Rates[RateReads] = (after[metricReads] - before[metricReads]) / el
			r.rep.Rates[RateChanges] = (after[metricChanges] - before[metricChanges]) / el
		}
		ev, b := 0, 0
		for _, x := range res {
			ev += x.Events
			b += x.Batches
		}
		r.rep.Rates[RateEvents] = float64(ev) / el
		r.rep.Rates[RateBatches] = float64(b) / el
	}
	return r.teardown(ctx, vms)
}

// The guest metrics a guests run reads from /metrics.
const (
	metricReads   = "xenactor_guest_reads_total"
	metricChanges = "xenactor_guest_changes_total"
)

// The rates of a guests report.
const (
	RateReads   = "guest report reads/s"
	RateChanges = "guest report changes/s"
	RateEvents  = "update stream ids/s"
	RateBatches = "update stream batches/s"
)

// guestCounters reads the guest counters (nil without a metrics address).
func (r *run) guestCounters(ctx context.Context) (map[string]float64, error) {
	if r.t.metrics == "" {
		return nil, nil
	}
	reads, err := scrape(ctx, r.t.metrics, []string{metricReads}, `result="ok"`)
	if err != nil {
		return nil, fmt.Errorf("loadbench: the daemon's /metrics: %w", err)
	}
	changes, err := scrape(ctx, r.t.metrics, []string{metricChanges}, metricChanges)
	if err != nil {
		return nil, fmt.Errorf("loadbench: the daemon's /metrics: %w", err)
	}
	reads[metricChanges] = changes[metricChanges]
	return reads, nil
}

// scale brings the running VMs up level by level (measured), and at each
// level starts the probe VMs one at a time and removes them again.
func (r *run) scale(ctx context.Context) error {
	running := 0
	for k, level := range r.c.Levels {
		j := r.job(jobSetup)
		j.Running = running
		fill, err := r.step(ctx, fmt.Sprintf("fill to %d", level), j, uuids(running, level, false), 0)
		if err != nil {
			return err
		}
		r.rep.measured(fill, r.start)
		for _, x := range fill {
			running += x.Running
		}
		row := LevelRow{Running: running}
		row.DaemonPerVMKiB, row.SimHostPerVMKiB, row.DaemonRSSKiB, row.SimHostRSSKiB = r.perVM(running)
		p := r.job(jobProbe)
		p.Running = running
		probe, err := r.step(ctx, fmt.Sprintf("probe at %d", level), p,
			uuids(k*r.c.Probe, (k+1)*r.c.Probe, true), 1)
		if err != nil {
			return err
		}
		r.rep.measured(probe, r.start)
		var lat []time.Duration
		for _, x := range probe {
			for _, pt := range x.Points[OpProbe] {
				lat = append(lat, pt.Latency)
			}
			for k, n := range x.Errors {
				if row.Errors == nil {
					row.Errors = map[string]int{}
				}
				row.Errors[k] += n
			}
		}
		row.Probes = len(lat)
		row.Probe = latency(lat)
		r.rep.Levels = append(r.rep.Levels, row)
		r.logf("scale: %d running: probe start p50 %s, daemon %d MiB", running, row.Probe.P50.Round(10*time.Microsecond),
			row.DaemonRSSKiB>>10)
	}
	r.rep.RunningVMs = running
	r.rep.DaemonPerVMKiB, r.rep.SimHostPerVMKiB, _, _ = r.perVM(running)
	return r.teardown(ctx, uuids(0, r.c.Levels[len(r.c.Levels)-1], false))
}
