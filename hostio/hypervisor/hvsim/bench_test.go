package hvsim_test

import (
	"context"
	"crypto/sha256"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

const (
	idleDomains   = 10_000
	idleDomainKiB = 4 << 10 // a small guest, as LightVM's unikernels
)

// startIdle fills a new simulated host with n built, unpaused, idle domains
// and returns it with the heap bytes it took per domain.
func startIdle(tb testing.TB, n int, clock func() time.Time) (*hvsim.Sim, float64) {
	tb.Helper()
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := hvsim.New(hvsim.Config{
		HostMemoryKiB: uint64(n)*(idleDomainKiB+hvsim.DefaultDomainOverheadKiB) + hvsim.DefaultDom0MemoryKiB,
		Dom0MemoryKiB: hvsim.DefaultDom0MemoryKiB,
		Clock:         clock,
	})
	build := hypervisor.BuildConfig{Kernel: "/boot/vmlinuz", MemoryKiB: idleDomainKiB}
	for i := range n {
		id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: uuidN(i), Type: hypervisor.DomainTypePVH, MaxVCPUs: 1, MaxMemKiB: idleDomainKiB})
		if err == nil {
			_, err = s.Build(ctx, id, build)
		}
		if err == nil {
			err = s.Unpause(ctx, id)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return s, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkIdleDomains reports the heap cost of one idle domain among ten
// thousand, and the time to create, build and unpause one.
func BenchmarkIdleDomains(b *testing.B) {
	var perDomain float64
	for b.Loop() {
		s, bytes := startIdle(b, idleDomains, nil)
		perDomain = bytes
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perDomain, "bytes/domain")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*idleDomains), "ns/domain")
}

// TestSim_TenThousandIdleDomains checks the density goal: ten thousand idle
// guests cost little memory, run no goroutines and do no work as time
// passes.
func TestSim_TenThousandIdleDomains(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 domains")
	}
	clock := newFakeClock()
	goroutines := runtime.NumGoroutine()
	s, perDomain := startIdle(t, idleDomains, clock.Now)
	t.Logf("%.0f bytes per idle domain", perDomain)
	assert.Less(t, perDomain, 2048.0)
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines, "no goroutine per domain")

	clock.Advance(time.Hour)
	list, err := s.ListDomains(context.Background())
	require.NoError(t, err)
	require.Len(t, list, idleDomains+1)
	for _, d := range list[1:] {
		if !assert.True(t, d.Blocked) || !assert.Equal(t, time.Hour, d.CPUTime) {
			break
		}
	}
	sum, err := s.MemoryChecksum(context.Background(), list[len(list)-1].ID)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(nil), sum, "an idle guest's memory stays untouched (all zeros)")
}
