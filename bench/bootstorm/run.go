package bootstorm

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of Options.
const (
	DefaultVMs              = 1000
	DefaultConcurrency      = 100
	DefaultProbe            = 20
	DefaultProbeConcurrency = 10
	DefaultRounds           = 3
	DefaultMemoryKiB        = 64 << 10
	DefaultImage            = "sim:linux"
)

// DefaultLevels are the curve's default levels of running VMs.
var DefaultLevels = []int{10, 100, 1000, 2000, 5000}

// maxErrors is how many failures a result keeps.
const maxErrors = 5

// Options configure Run. Zero values take the defaults, except that VMs < 0
// skips the storm and an empty Levels the curve (Run with the zero Options
// runs only the storm).
type Options struct {
	// Daemon starts each daemon under test; it must be set.
	Daemon NewDaemon
	// VMs are started in the storm, Concurrency at a time.
	VMs         int
	Concurrency int
	// Levels are the numbers of running VMs at which the probe batch of
	// Probe VMs is started, ProbeConcurrency at a time, and shut down
	// again, Rounds times after one round that is not measured (the work
	// the filling left behind settles meanwhile). The first level is the
	// baseline.
	Levels           []int
	Probe            int
	ProbeConcurrency int
	Rounds           int
	// MemoryKiB is each VM's memory; Image its kernel (sim:<profile>).
	MemoryKiB uint64
	Image     string
	// Progress, if set, is told what is going on.
	Progress func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.VMs == 0 {
		o.VMs = DefaultVMs
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Probe <= 0 {
		o.Probe = DefaultProbe
	}
	if o.ProbeConcurrency <= 0 {
		o.ProbeConcurrency = DefaultProbeConcurrency
	}
	if o.Rounds <= 0 {
		o.Rounds = DefaultRounds
	}
	if o.MemoryKiB == 0 {
		o.MemoryKiB = DefaultMemoryKiB
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	o.Levels = slices.Clone(o.Levels)
	slices.Sort(o.Levels)
	o.Levels = slices.Compact(o.Levels)
}

// Run runs the storm and then the curve, each on a fresh simulated host
// and actor tree.
func Run(ctx context.Context, opts Options) (Result, error) {
	opts.defaults()
	var r Result
	if opts.Daemon == nil {
		return r, fmt.Errorf("bootstorm: no Options.Daemon: %w", errdefs.ErrInvalid)
	}
	if opts.VMs > 0 {
		s, err := storm(ctx, opts)
		if err != nil {
			return r, fmt.Errorf("storm: %w", err)
		}
		r.Storm = &s
	}
	if len(opts.Levels) > 0 {
		c, err := curve(ctx, opts)
		if err != nil {
			return r, fmt.Errorf("curve: %w", err)
		}
		r.Curve = &c
	}
	return r, nil
}

// storm adds opts.VMs VMs, starts them opts.Concurrency at a time, measures,
// and shuts them down again.
func storm(ctx context.Context, opts Options) (StormResult, error) {
	r := StormResult{VMs: opts.VMs, Concurrency: opts.Concurrency}
	e, err := newEnv(ctx, opts, opts.VMs)
	if err != nil {
		return r, err
	}
	defer e.d.Close()
	mem0, gor0 := footprint()
	opts.Progress("storm: adding %d VMs", opts.VMs)
	vms, err := e.add(ctx, "5707a000", 0, opts.VMs, opts.Concurrency)
	if err != nil {
		return r, err
	}
	opts.Progress("storm: starting %d VMs, %d at a time", opts.VMs, opts.Concurrency)
	t0 := time.Now()
	lat, errs := e.start(ctx, vms, opts.Concurrency)
	r.Elapsed = time.Since(t0)
	var started []string
	for i, err := range errs {
		if err == nil {
			r.Started++
			started = append(started, vms[i])
			continue
		}
		r.Failed++
		if len(r.Errors) < maxErrors {
			r.Errors = append(r.Errors, err.Error())
		}
	}
	r.PerSecond = float64(r.Started) / r.Elapsed.Seconds()
	r.Latency = latency(lat)
	if r.Running, r.Domains, err = e.d.Count(ctx); err != nil {
		return r, err
	}
	mem, gor := footprint()
	if r.Running > 0 {
		r.BytesPerVM = float64(mem-mem0) / float64(r.Running)
		r.GoroutinesPerVM = float64(gor-gor0) / float64(r.Running)
	}
	opts.Progress("storm: %d started in %s; shutting them down", r.Started, r.Elapsed.Round(time.Millisecond))
	if err := e.stop(ctx, started, opts.Concurrency); err != nil {
		return r, err
	}
	_, r.Leftover, err = e.d.Count(ctx)
	return r, err
}

// curve brings the running VMs up level by level and starts (and shuts
// down) the probe batch at each.
func curve(ctx context.Context, opts Options) (CurveResult, error) {
	r := CurveResult{Probe: opts.Probe, ProbeConcurrency: opts.ProbeConcurrency, Rounds: opts.Rounds}
	top := opts.Levels[len(opts.Levels)-1]
	e, err := newEnv(ctx, opts, top+opts.Probe)
	if err != nil {
		return r, err
	}
	defer e.d.Close()
	mem0, gor0 := footprint()
	probe, err := e.add(ctx, "9e0be000", 0, opts.Probe, opts.ProbeConcurrency)
	if err != nil {
		return r, err
	}
	var fill []string
	for _, level := range opts.Levels {
		if n := level - len(fill); n > 0 {
			opts.Progress("curve: starting %d more VMs, %d at a time, to %d running", n, opts.Concurrency, level)
			more, err := e.add(ctx, "f1110000", len(fill), n, opts.Concurrency)
			if err != nil {
				return r, err
			}
			fill = append(fill, more...)
			if _, errs := e.start(ctx, more, opts.Concurrency); firstErr(errs) != nil {
				return r, fmt.Errorf("filling to %d: %w", level, firstErr(errs))
			}
		}
		opts.Progress("curve: probe at %d running", level)
		l := LevelResult{Running: level, Probe: opts.Probe}
		var all []time.Duration
		for round := range opts.Rounds + 1 {
			lat, errs := e.start(ctx, probe, opts.ProbeConcurrency)
			var started []string
			for i, err := range errs {
				switch {
				case err == nil:
					started = append(started, probe[i])
				case round > 0:
					l.Failed++
				}
			}
			if round > 0 {
				all = append(all, lat...)
			}
			if level == top && round == opts.Rounds {
				mem, gor := footprint()
				r.BytesPerVM = float64(mem-mem0) / float64(top+opts.Probe)
				r.GoroutinesPerVM = float64(gor-gor0) / float64(top+opts.Probe)
			}
			if err := e.stop(ctx, started, opts.ProbeConcurrency); err != nil {
				return r, fmt.Errorf("probe at %d: %w", level, err)
			}
		}
		l.Latency = latency(all)
		r.Levels = append(r.Levels, l)
	}
	if base := r.Levels[0].Latency.P50; base > 0 {
		for i := range r.Levels {
			r.Levels[i].Ratio = float64(r.Levels[i].Latency.P50) / float64(base)
		}
	}
	opts.Progress("curve: shutting %d VMs down", len(fill))
	if err := e.stop(ctx, fill, opts.Concurrency); err != nil {
		return r, err
	}
	_, r.Leftover, err = e.d.Count(ctx)
	return r, err
}

// newEnv starts a daemon with room for vms VMs.
func newEnv(ctx context.Context, opts Options, vms int) (*env, error) {
	d, err := opts.Daemon(ctx, vms, opts.MemoryKiB)
	if err != nil {
		return nil, fmt.Errorf("starting the daemon: %w", err)
	}
	return &env{d: d, memKiB: opts.MemoryKiB, image: opts.Image}, nil
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// footprint returns the heap and stack in use after garbage collection,
// and the goroutines.
func footprint() (uint64, int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
}
