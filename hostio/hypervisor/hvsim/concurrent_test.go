package hvsim_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// TestSim_Concurrent runs whole domain lives on several goroutines at once,
// with a writing guest on the real clock and an events subscriber, for the
// race detector.
func TestSim_Concurrent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := hvsim.New(hvsim.Config{DirtyPagesPerSecond: 100_000, WorkingSetPages: 32})
	events, err := s.Events(ctx)
	require.NoError(t, err)
	var seen sync.WaitGroup
	seen.Go(func() {
		for range events {
		}
	})

	const workers, lives = 6, 30
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range lives {
				if err := life(ctx, s, uuidN(w*lives+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range workers * lives {
			if _, err := s.ListDomains(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	cancel()
	seen.Wait()

	list, err := s.ListDomains(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1, "only dom0 is left")
	assert.Equal(t, hvsim.DefaultHostMemoryKiB-hvsim.DefaultDom0MemoryKiB, int(s.FreeMemoryKiB()))
}

func life(ctx context.Context, s *hvsim.Sim, uuid string) error {
	id, err := s.Create(ctx, hypervisor.CreateConfig{UUID: uuid, Type: hypervisor.DomainTypeHVM, MaxVCPUs: 2, MaxMemKiB: 1024})
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error {
			_, err := s.Build(ctx, id, hypervisor.BuildConfig{Firmware: "hvmloader", MemoryKiB: 1024})
			return err
		},
		func() error { return s.Unpause(ctx, id) },
		func() error { return s.EnableDirtyLog(ctx, id) },
		func() error { return s.WritePage(ctx, id, 9, []byte("x")) },
		func() error { return s.ReadPages(ctx, id, []uint64{1, 2, 9}, io.Discard) },
		func() error { _, err := s.ReadDirtyLog(ctx, id, true); return err },
		func() error { _, err := s.DomainInfo(ctx, id); return err },
		func() error { return s.Pause(ctx, id) },
		func() error { return s.Save(ctx, id, io.Discard, hypervisor.SaveOptions{DirtyOnly: true}) },
		func() error { _, err := s.MemoryChecksum(ctx, id); return err },
		func() error { return s.Shutdown(ctx, id, hypervisor.ShutdownPoweroff) },
		func() error { return s.Destroy(ctx, id) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
