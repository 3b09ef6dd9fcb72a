package simbench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
)

// Result is one row of the simulated-host benchmark.
type Result struct {
	Boot simtest.BootResult
	// Per idle guest, after garbage collection: heap and stack bytes, and
	// goroutines (the guest kernel's, and xenstored's for its connection).
	BytesPerGuest      float64
	GoroutinesPerGuest float64
	// IdleCPU is the process's CPU use (in cores) while every guest idles.
	IdleCPU float64
}

// Options configure Run.
type Options struct {
	Guests      int
	Concurrency int
	// IdleWindow is how long the idle CPU is measured; 0 means 2 s.
	IdleWindow time.Duration
	Image      string
}

// Run boots opts.Guests guests on a fresh simulated host and measures them.
func Run(ctx context.Context, opts Options) (Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 100
	}
	if opts.IdleWindow <= 0 {
		opts.IdleWindow = 2 * time.Second
	}
	if opts.Image == "" {
		opts.Image = "sim:linux"
	}
	before := memory()
	goroutines := runtime.NumGoroutine()
	h, err := sim.New(sim.Config{Hypervisor: hvsim.Config{
		HostMemoryKiB: uint64(opts.Guests+16) * (simtest.GuestMemoryKiB + 1024)}})
	if err != nil {
		return Result{}, err
	}
	defer h.Close()
	b, err := simtest.NewBooter(ctx, h)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	boot, err := b.BootMany(ctx, opts.Guests, opts.Concurrency, opts.Image)
	if err != nil {
		return Result{}, err
	}
	after := memory()
	r := Result{Boot: boot,
		BytesPerGuest:      float64(after-before) / float64(opts.Guests),
		GoroutinesPerGuest: float64(runtime.NumGoroutine()-goroutines) / float64(opts.Guests)}
	cpu0, t0 := cpuTime(), time.Now()
	select {
	case <-time.After(opts.IdleWindow):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	r.IdleCPU = (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	return r, nil
}

func memory() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "%8s %6s %10s %10s %9s %9s %9s %12s %11s %9s\n", "guests", "conc", "boot", "boots/s",
		"p50", "p99", "max", "bytes/guest", "gor/guest", "idle-cpu")
	for _, r := range rs {
		b := r.Boot
		fmt.Fprintf(w, "%8d %6d %10s %10.0f %9s %9s %9s %12.0f %11.1f %8.1f%%\n", b.Guests, b.Concurrency,
			b.Elapsed.Round(time.Millisecond), b.PerSecond, b.P50.Round(10*time.Microsecond),
			b.P99.Round(10*time.Microsecond), b.Max.Round(10*time.Microsecond), r.BytesPerGuest,
			r.GoroutinesPerGuest, 100*r.IdleCPU)
	}
}
