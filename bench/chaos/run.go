package chaos

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of Options.
const (
	DefaultRunDuration   = 20 * time.Second
	DefaultVMs           = 12
	DefaultWorkers       = 4
	DefaultFaultInterval = 500 * time.Millisecond
	DefaultOpTimeout     = 30 * time.Second
)

// checkAttempts is how many times Check runs on a fresh view before its
// violations count: a domain event the daemon has not handled yet (a guest
// that rebooted by itself) is not a violation.
const checkAttempts = 10

// Options configures Run.
type Options struct {
	// Seed seeds every random choice: the faults, their times, the
	// operations (the daemon's timing still varies).
	Seed int64
	// Runs is the number of runs; 0 runs until Duration has passed.
	Runs     int
	Duration time.Duration
	// RunDuration is the length of each run's storm (DefaultRunDuration).
	RunDuration time.Duration
	// Faults are the kinds injected (AllFaults when nil).
	Faults []string
	// VMs and Workers size the storm (DefaultVMs, DefaultWorkers).
	VMs, Workers int
	// FaultInterval is the mean time between two faults of the daemon's
	// process, and between two of this one (DefaultFaultInterval).
	FaultInterval time.Duration
	// OpTimeout bounds each operation (DefaultOpTimeout).
	OpTimeout time.Duration
	// Child returns the command of a child daemon, which must run
	// ChildMain; nil re-executes this program as `<it> chaos-daemon`.
	Child func() *exec.Cmd
	// Progress, if set, receives a line per step.
	Progress func(format string, args ...any)
}

// Report is what a chaos run found.
type Report struct {
	Seed   int64
	Faults []string
	Runs   int
	// Incarnations counts the daemons started (1 + the kills).
	Incarnations int
	Elapsed      time.Duration
	// Injected counts the faults injected by kind; Hit, of those armed in
	// the daemon, how many went off.
	Injected map[string]int
	Hit      map[string]int
	// Unavailable are the kinds the daemon could not inject.
	Unavailable []string `json:",omitempty"`
	// Ops counts the storm's operations by "<op>: <result>" (of a storm
	// whose daemon was killed, those it reported before).
	Ops        map[string]int
	Violations []Violation
	Samples    []Sample
}

// Run runs the chaos suite: on a fresh simulated host, a child daemon, then
// runs of a storm with faults, each followed by the invariant checks, the
// clean-up and a sample. Violations are in the report; an error means the
// suite itself could not run.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Faults == nil {
		o.Faults = slices.Clone(AllFaults)
	}
	if o.RunDuration <= 0 {
		o.RunDuration = DefaultRunDuration
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.FaultInterval <= 0 {
		o.FaultInterval = DefaultFaultInterval
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.Runs <= 0 && o.Duration <= 0 {
		return nil, fmt.Errorf("chaos: neither Runs nor Duration: %w", errdefs.ErrInvalid)
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Child == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("chaos: this program's path, to run the daemon: %w", err)
		}
		o.Child = func() *exec.Cmd { return exec.Command(exe, "chaos-daemon") }
	}
	dir, err := os.MkdirTemp("", "xchaos")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Room for every VM of the pool, suspended images aside.
	host, err := NewHost(dir, uint64(o.VMs)*80+2048)
	if err != nil {
		return nil, err
	}
	defer host.Close()

	r := &runner{o: o, host: host, rng: rand.New(rand.NewSource(o.Seed)),
		cfg: ChildConfig{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run"),
			Xenstored: host.Xenstored(), Hypervisor: "unix:" + host.Hypervisor(), Faults: o.Faults, VMs: o.VMs,
			Workers: o.Workers, FaultInterval: o.FaultInterval, OpTimeout: o.OpTimeout},
		rep: &Report{Seed: o.Seed, Faults: o.Faults, Injected: make(map[string]int), Hit: make(map[string]int),
			Ops: make(map[string]int)}}
	if slices.Contains(o.Faults, FaultDaemonKill) {
		if _, err := exec.LookPath(stunnelProgram); err == nil {
			if r.cfg.APIStunnel, err = freeAddr(); err != nil {
				return nil, err
			}
			// A stunnel a killed daemon left and no daemon adopted.
			defer killStunnels(filepath.Join(r.cfg.RunDir, "api-stunnel"))
		}
	}
	start := time.Now()
	if err := r.startChild(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if r.child != nil {
			r.child.kill()
		}
	}()
	for run := 0; o.Runs > 0 && run < o.Runs || o.Runs <= 0 && time.Since(start) < o.Duration; run++ {
		if err := r.run(ctx, run); err != nil {
			return r.rep, err
		}
		r.rep.Runs++
	}
	r.addHits()
	err = r.child.stop()
	r.child = nil
	r.rep.Elapsed = time.Since(start)
	if err != nil {
		return r.rep, fmt.Errorf("chaos: the last daemon: %w", err)
	}
	return r.rep, nil
}

// runner is one Run's state.
type runner struct {
	o     Options
	host  *Host
	rng   *rand.Rand
	cfg   ChildConfig
	child *child
	rep   *Report
	// hits are the Hit counts of the current daemon, cumulative.
	hits map[string]int
	// first is the current daemon's first sample.
	first *Sample
}

func (r *runner) startChild(ctx context.Context) error {
	r.cfg.Incarnation = r.rep.Incarnations
	c, err := startChild(ctx, r.o.Child(), r.cfg)
	if err != nil {
		return err
	}
	r.child, r.first, r.hits = c, nil, nil
	r.rep.Incarnations++
	return nil
}

// addHits adds the current daemon's hits to the report.
func (r *runner) addHits() {
	for k, n := range r.hits {
		r.rep.Hit[k] += n
	}
	r.hits = nil
}

// run is one run: the storm with faults (perhaps a kill of the daemon and
// a new one), the checks, the clean-up and the sample.
func (r *runner) run(ctx context.Context, run int) error {
	seed := r.rng.Int63()
	var killAt time.Duration
	if slices.Contains(r.o.Faults, FaultKill) && r.rng.Intn(2) == 0 {
		killAt = time.Duration(r.rng.Int63n(int64(r.o.RunDuration)))
	}
	r.o.Progress("run %d: seed %d%s", run, seed, map[bool]string{true: fmt.Sprintf(", xenactord killed at %s",
		killAt.Round(time.Millisecond)), false: ""}[killAt > 0])

	fctx, stopFaults := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.hostFaults(fctx, seed) })
	stopHost := func() {
		stopFaults()
		wg.Wait()
		r.host.sim.Faults().SetBackendDelay(0)
		r.host.sim.Faults().SetHotplugError("")
	}
	if err := r.child.send(command{Cmd: cmdStorm, Run: run, Seed: seed, Duration: r.o.RunDuration}); err != nil {
		stopHost()
		return fmt.Errorf("chaos: run %d: %w", run, err)
	}
	deadline := time.Now().Add(r.o.RunDuration + r.o.OpTimeout + time.Minute)
	if killAt > 0 {
		deadline = time.Now().Add(killAt)
	}
	var res *StormResult
	var err error
	for {
		var rep reply
		if rep, err = r.child.await(ctx, time.Until(deadline)); err != nil || rep.Partial == nil {
			res = cmp.Or(rep.Storm, res)
			break
		}
		res = rep.Partial
	}
	stopHost()
	switch {
	case killAt > 0 && errdefs.IsTimeout(err):
		r.child.kill()
		r.rep.Injected[FaultKill]++
	case err != nil:
		return fmt.Errorf("chaos: run %d: %w", run, err)
	}
	if res != nil {
		for k, n := range res.Ops {
			r.rep.Ops[k] += n
		}
		for k, n := range res.Faults {
			r.rep.Injected[k] += n
		}
		r.hits = res.Hit
		for _, k := range res.Unavailable {
			if !slices.Contains(r.rep.Unavailable, k) {
				r.rep.Unavailable = append(r.rep.Unavailable, k)
			}
		}
	}
	if err != nil { // killed
		r.addHits()
		if err := r.startChild(ctx); err != nil {
			return fmt.Errorf("chaos: run %d: the daemon after the kill: %w", run, err)
		}
	}

	// The checks, on fresh views until they pass or the attempts are spent.
	var viols []Violation
	for attempt := range checkAttempts {
		// The settle waits for the tasks once; the later attempts only
		// look again.
		cmd := command{Cmd: cmdSettle}
		if attempt > 0 {
			cmd.Cmd = cmdView
		}
		rep, err := r.child.call(ctx, cmd, settleTimeout+time.Minute)
		if err != nil {
			return fmt.Errorf("chaos: run %d: settling: %w", run, err)
		}
		if rep.View == nil {
			return fmt.Errorf("chaos: run %d: no view from the daemon: %s", run, rep.Err)
		}
		if viols, err = r.host.Check(ctx, rep.View); err != nil {
			return fmt.Errorf("chaos: run %d: %w", run, err)
		}
		if len(viols) == 0 {
			break
		}
		if attempt < checkAttempts-1 {
			time.Sleep(time.Second)
		}
	}
	for _, v := range viols {
		v.Run = run
		r.rep.Violations = append(r.rep.Violations, v)
		r.o.Progress("  violation: %s", v)
	}

	rep, err := r.child.call(ctx, command{Cmd: cmdClean}, 2*r.o.OpTimeout+2*time.Minute)
	if err != nil {
		return fmt.Errorf("chaos: run %d: cleaning up: %w", run, err)
	}
	for _, e := range rep.Clean.Errors {
		r.rep.Violations = append(r.rep.Violations, Violation{Run: run, Invariant: InvClean, Found: e})
		r.o.Progress("  violation: %s: %s", InvClean, e)
	}
	s, err := sample(ctx, r.child.metricsAddr, r.child.pid())
	if err != nil {
		return fmt.Errorf("chaos: run %d: sampling the daemon: %w", run, err)
	}
	s.Run, s.Incarnation = run, r.rep.Incarnations-1
	r.rep.Samples = append(r.rep.Samples, s)
	if r.first == nil {
		r.first = &s
	} else {
		for _, v := range checkGrowth(*r.first, s) {
			r.rep.Violations = append(r.rep.Violations, v)
			r.o.Progress("  violation: %s", v)
		}
	}
	r.o.Progress("  ops %d, faults %d, violations %d, goroutines %d, fds %d", sum(r.rep.Ops),
		sum(r.rep.Injected), len(r.rep.Violations), s.Goroutines, s.FDs)
	return nil
}

// hostFaults injects this process's faults until ctx ends, every
// FaultInterval on average.
func (r *runner) hostFaults(ctx context.Context, seed int64) {
	kinds := only(r.o.Faults, parentFaults)
	if len(kinds) == 0 {
		return
	}
	rng := rand.New(rand.NewSource(seed))
	f := r.host.sim.Faults()
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for sleep(time.Duration(rng.ExpFloat64() * float64(r.o.FaultInterval))) {
		kind := kinds[rng.Intn(len(kinds))]
		switch kind {
		case FaultXenstoreDrop:
			r.host.DropXenstore()
		case FaultBackendSlow:
			f.SetBackendDelay(time.Duration(50+rng.Intn(450)) * time.Millisecond)
			sleep(time.Duration(500+rng.Intn(1500)) * time.Millisecond)
			f.SetBackendDelay(0)
		case FaultHotplugFail:
			f.SetHotplugError("chaos: injected hotplug failure")
			sleep(time.Duration(200+rng.Intn(800)) * time.Millisecond)
			f.SetHotplugError("")
		}
		r.rep.Injected[kind]++ // only this goroutine writes these kinds during a storm
	}
}

func sum(m map[string]int) int {
	n := 0
	for v := range maps.Values(m) {
		n += v
	}
	return n
}

// ViolationCount returns the number of violations.
func (r *Report) ViolationCount() int { return len(r.Violations) }

// stunnelProgram is the stunnel of FaultDaemonKill (Debian's stunnel4).
const stunnelProgram = "stunnel4"

// freeAddr returns a 127.0.0.1 address with a port free at the time.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// killStunnels kills the stunnel processes of the pid files in dir that
// still run: those of a daemon killed by SIGKILL that no daemon stopped.
func killStunnels(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var rec struct{ Pid int }
		if json.Unmarshal(raw, &rec) != nil || rec.Pid <= 0 {
			continue
		}
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", rec.Pid)); err == nil &&
			strings.Contains(string(cmdline), "stunnel") {
			_ = syscall.Kill(rec.Pid, syscall.SIGKILL)
		}
	}
}
