package bootstorm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// env is one daemon under test.
type env struct {
	d      Daemon
	memKiB uint64
	image  string
}

// vm returns VM i of the group prefix (8 hex digits).
func (e *env) vm(prefix string, i int) VM {
	return VM{UUID: fmt.Sprintf("%s-0000-4000-8000-%012x", prefix, i), Name: fmt.Sprintf("storm-%s-%d", prefix, i),
		MemoryKiB: e.memKiB, Image: e.image, DiskParams: fmt.Sprintf("/dev/loop%d", i),
		MAC: fmt.Sprintf("00:16:3e:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff), Bridge: "xenbr0"}
}

// add registers n VMs of the group prefix, from first on, concurrency at
// a time, and returns their uuids.
func (e *env) add(ctx context.Context, prefix string, first, n, concurrency int) ([]string, error) {
	uuids := make([]string, n)
	err := forEach(ctx, n, concurrency, func(i int) error {
		vm := e.vm(prefix, first+i)
		uuids[i] = vm.UUID
		if err := e.d.AddVM(ctx, vm); err != nil {
			return fmt.Errorf("add %s: %w", vm.UUID, err)
		}
		return nil
	})
	return uuids, err
}

// start starts every VM, concurrency at a time, and returns the start
// latency of each (0 for a failed one) and the failures.
func (e *env) start(ctx context.Context, uuids []string, concurrency int) ([]time.Duration, []error) {
	lat := make([]time.Duration, len(uuids))
	errs := make([]error, len(uuids))
	_ = forEach(ctx, len(uuids), concurrency, func(i int) error {
		t0 := time.Now()
		if err := e.d.StartVM(ctx, uuids[i]); err != nil {
			errs[i] = fmt.Errorf("start %s: %w", uuids[i], err)
			return nil
		}
		lat[i] = time.Since(t0)
		return nil
	})
	return lat, errs
}

// stop shuts every VM down hard, concurrency at a time.
func (e *env) stop(ctx context.Context, uuids []string, concurrency int) error {
	return forEach(ctx, len(uuids), concurrency, func(i int) error {
		if err := e.d.ShutdownVM(ctx, uuids[i]); err != nil {
			return fmt.Errorf("shut down %s: %w", uuids[i], err)
		}
		return nil
	})
}

// forEach runs f(0..n-1), concurrency at a time, and returns the first
// error (the others still run).
func forEach(ctx context.Context, n, concurrency int, f func(i int) error) error {
	if concurrency <= 0 {
		concurrency = 1
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, concurrency)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("%w: %w", errdefs.ErrCanceled, ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d failed, first: %w", len(errs), n, errs[0])
	}
	return nil
}
