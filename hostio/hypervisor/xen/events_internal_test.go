//go:build xen && linux && cgo

package xen

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// TestEvents_OtherToolstack checks that Events reports a change another
// toolstack made to a domain it introduced, from VIRQ_DOM_EXC or
// xenstored's watches alone (the poll is stretched out of the way).
func TestEvents_OtherToolstack(t *testing.T) {
	dom0, err := ControlDomain(CapabilitiesPath)
	require.NoError(t, err)
	kernel := os.Getenv("XENACTOR_TEST_KERNEL")
	if !dom0 || kernel == "" {
		t.Skip("needs the control domain of a Xen host and XENACTOR_TEST_KERNEL")
	}
	open := func() *Hypervisor {
		h, err := Open(Config{
			Xenstore: func(ctx context.Context) (*xenstore.Client, error) {
				return xenstore.Dial(ctx, "/var/run/xenstored/socket")
			},
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Close() })
		return h
	}
	watcher, other := open(), open()
	watcher.ev.pollEvery = time.Hour
	ctx := t.Context()
	ch, err := watcher.Events(ctx)
	require.NoError(t, err)

	id, err := other.Create(ctx, hypervisor.CreateConfig{UUID: "0b7c3f0e-5d2a-4c61-8f0e-6a9d1c2b3e4f",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 128 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Destroy(context.Background(), id) })
	res, err := other.Build(ctx, id, hypervisor.BuildConfig{Kernel: kernel, MemoryKiB: 128 << 10})
	require.NoError(t, err)
	if watcher.ev.source == "xenstore" {
		// xenstored raises @releaseDomain only for the domains it knows,
		// as every toolstack introduces the domains it builds.
		xs, err := xenstore.Dial(ctx, "/var/run/xenstored/socket")
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = xs.Release(context.Background(), uint32(id))
			_ = xs.Close()
		})
		require.NoError(t, xs.Introduce(ctx, uint32(id), res.StoreGFN, res.StorePort))
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case <-ch:
	default:
	}
	for _, step := range []struct {
		what string
		op   func() error
	}{
		{"shutdown", func() error { return other.Shutdown(ctx, id, hypervisor.ShutdownPoweroff) }},
		{"destroy", func() error { return other.Destroy(ctx, id) }},
	} {
		what := step.what
		require.NoError(t, step.op(), what)
		select {
		case <-ch:
			t.Logf("%s seen through %s", what, watcher.ev.source)
		case <-time.After(20 * time.Second):
			t.Fatalf("no event through %s after another toolstack's %s", watcher.ev.source, what)
		}
	}
}

// TestClose_StopsEverything checks that Close closes the events channels
// and leaves no goroutine of the event sources behind. A first round warms
// up what the runtime starts once.
func TestClose_StopsEverything(t *testing.T) {
	dom0, err := ControlDomain(CapabilitiesPath)
	require.NoError(t, err)
	if !dom0 {
		t.Skip("needs the control domain of a Xen host")
	}
	round := func() {
		h, err := Open(Config{Xenstore: func(ctx context.Context) (*xenstore.Client, error) {
			return xenstore.Dial(ctx, "/var/run/xenstored/socket")
		}})
		require.NoError(t, err)
		a, err := h.Events(t.Context())
		require.NoError(t, err)
		b, err := h.Events(context.Background())
		require.NoError(t, err)
		time.Sleep(2 * pollInterval) // the poll and the watches are running
		require.NoError(t, h.Close())
		require.NoError(t, h.Close(), "closing again")
		for _, ch := range []<-chan struct{}{a, b} {
			for range ch {
			}
		}
		_, err = h.Events(t.Context())
		require.Error(t, err, "events after Close")
	}
	round()
	before := runtime.NumGoroutine()
	round()
	// Counted here, not in require.Eventually, whose checks run in a
	// goroutine of their own.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before Open:\n%s", runtime.NumGoroutine(), before,
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
