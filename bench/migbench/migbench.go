// Package migbench measures live migration's wire (hostio/migrate) between
// two simulated hypervisors over loopback TCP: the throughput of the memory
// stream against a raw TCP copy of the same number of bytes, measured in the
// same run, and the downtime, for VMs of several sizes whose guests write at
// several rates. `xenactor-bench migrate` runs it; see docs/benchmarks.md.
package migbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"text/tabwriter"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/migrate"
)

// Defaults of Options.
var (
	DefaultSizesMiB = []int{256, 1024}
	DefaultRates    = []int{0, 5000, 50000}
)

// DefaultWorkingSetPages is the guests' writable working set (64 MiB).
const DefaultWorkingSetPages = 16384

// Options says what to measure.
type Options struct {
	// SizesMiB are the VMs' memory sizes; Rates the pages per second their
	// guests write while they run.
	SizesMiB []int
	Rates    []int
	// WorkingSetPages is the guests' writable working set.
	WorkingSetPages int
	// Compress sends the memory through flate.
	Compress bool
	// Progress, if set, receives a line per row measured.
	Progress func(format string, args ...any)
}

// Row is one measurement.
type Row struct {
	SizeMiB       int     `json:"size_mib"`
	DirtyRate     int     `json:"dirty_pages_per_second"`
	Iterations    int     `json:"iterations"`
	BytesSent     int64   `json:"bytes_sent"`
	MigrationMS   float64 `json:"migration_ms"`
	DowntimeMS    float64 `json:"downtime_ms"`
	MiBPerSecond  float64 `json:"mib_per_second"`
	RawMiBPerSec  float64 `json:"raw_tcp_mib_per_second"`
	FractionOfRaw float64 `json:"fraction_of_raw"`
}

const token = "bench"

// Run measures every size at every rate.
func Run(ctx context.Context, opts Options) ([]Row, error) {
	if opts.WorkingSetPages <= 0 {
		opts.WorkingSetPages = DefaultWorkingSetPages
	}
	var rows []Row
	for _, size := range opts.SizesMiB {
		for _, rate := range opts.Rates {
			r, err := measure(ctx, size, rate, opts)
			if err != nil {
				return rows, fmt.Errorf("%d MiB at %d pages/s: %w", size, rate, err)
			}
			if opts.Progress != nil {
				opts.Progress("%d MiB at %d pages/s: %.0f ms, downtime %.1f ms, %.2f of raw TCP", size, rate,
					r.MigrationMS, r.DowntimeMS, r.FractionOfRaw)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// measure migrates one VM and copies as many bytes raw.
func measure(ctx context.Context, sizeMiB, rate int, opts Options) (Row, error) {
	row := Row{SizeMiB: sizeMiB, DirtyRate: rate}
	memKiB := uint64(sizeMiB) << 10
	hostKiB := memKiB*2 + 2<<20
	src := hvsim.New(hvsim.Config{HostMemoryKiB: hostKiB, WorkingSetPages: opts.WorkingSetPages})
	dst := hvsim.New(hvsim.Config{HostMemoryKiB: hostKiB})
	const uuid = "6d1f0000-0000-4000-8000-00000000be0c"
	id, err := src.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: memKiB})
	if err != nil {
		return row, err
	}
	if _, err := src.Build(ctx, id, hypervisor.BuildConfig{Kernel: "bench", MemoryKiB: memKiB}); err != nil {
		return row, err
	}
	// Every page holds data, as a booted guest's would.
	page := make([]byte, hypervisor.PageSize)
	for pfn := range memKiB / 4 {
		_, _ = rand.Read(page[:64])
		if err := src.WritePage(ctx, id, pfn, page); err != nil {
			return row, err
		}
	}
	if err := src.SetDirtyRate(id, rate); err != nil {
		return row, err
	}
	if err := src.Unpause(ctx, id); err != nil {
		return row, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row, err
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	srv := &migrate.Server{Token: token, Destination: simDest{dst}}
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() {
		cancel()
		<-served
	}()
	conn, err := migrate.Dial(ctx, ln.Addr().String(), nil)
	if err != nil {
		return row, err
	}
	res, err := migrate.Send(ctx, conn, migrate.SendConfig{Token: token, Metadata: []byte(fmt.Sprint(memKiB)),
		Hypervisor: src, DomID: id, Live: true, Compress: opts.Compress})
	if err != nil {
		return row, err
	}
	raw, err := rawCopy(res.BytesSent)
	if err != nil {
		return row, err
	}
	row.Iterations, row.BytesSent = res.Iterations, res.BytesSent
	row.MigrationMS = float64(res.Duration) / float64(time.Millisecond)
	row.DowntimeMS = float64(res.Downtime) / float64(time.Millisecond)
	row.MiBPerSecond = float64(res.BytesSent) / (1 << 20) / res.Duration.Seconds()
	row.RawMiBPerSec = float64(res.BytesSent) / (1 << 20) / raw.Seconds()
	row.FractionOfRaw = row.MiBPerSecond / row.RawMiBPerSec
	return row, nil
}

// rawCopy times a copy of n bytes over a loopback TCP connection, from
// the first byte written to the last byte read.
func rawCopy(n int64) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		_, err = io.CopyN(io.Discard, c, n)
		got <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	_, _ = rand.Read(buf)
	start := time.Now()
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			return 0, err
		}
		left -= k
	}
	if err := <-got; err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// simDest receives into an empty domain of a simulated hypervisor.
type simDest struct{ hv *hvsim.Sim }

// Prepare implements migrate.Destination; the metadata is the memory in
// KiB.
func (d simDest) Prepare(ctx context.Context, metadata []byte) (migrate.Incoming, error) {
	var kib uint64
	if _, err := fmt.Sscan(string(metadata), &kib); err != nil {
		return nil, err
	}
	id, err := d.hv.Create(ctx, hypervisor.CreateConfig{UUID: "6d1f0000-0000-4000-8000-00000000be0d",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: kib})
	if err != nil {
		return nil, err
	}
	return simIncoming{d.hv, id}, nil
}

type simIncoming struct {
	hv *hvsim.Sim
	id hypervisor.DomID
}

func (i simIncoming) Restore(ctx context.Context, r io.Reader) error {
	_, err := i.hv.Restore(ctx, i.id, r)
	return err
}

func (i simIncoming) Commit(ctx context.Context) error { return i.hv.Unpause(ctx, i.id) }

func (i simIncoming) Abort(ctx context.Context) { _ = i.hv.Destroy(ctx, i.id) }

// WriteTable prints rows as a table.
func WriteTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MiB\tdirty pages/s\trounds\tsent MiB\ttime ms\tdowntime ms\tMiB/s\traw TCP MiB/s\tof raw\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.0f\t%.1f\t%.0f\t%.0f\t%.2f\t\n", r.SizeMiB, r.DirtyRate, r.Iterations,
			float64(r.BytesSent)/(1<<20), r.MigrationMS, r.DowntimeMS, r.MiBPerSecond, r.RawMiBPerSec, r.FractionOfRaw)
	}
	_ = tw.Flush()
}
