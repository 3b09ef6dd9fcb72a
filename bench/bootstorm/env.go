package bootstorm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// hostOverheadKiB is what the simulated host's memory holds beyond the
// VMs' (dom0's, say).
const hostOverheadKiB = 64 << 20

// env is one daemon's actor tree on a fresh simulated host.
type env struct {
	h      *sim.Host
	dir    string
	store  *statedir.Store
	system *actor.ActorSystem
	host   host.Client
	tasks  tasks.Client
	memKiB uint64
}

// newEnv starts a simulated host with memory for vms VMs of memKiB each
// and the host actor on a state directory in a new temporary directory.
func newEnv(ctx context.Context, vms int, memKiB uint64) (_ *env, err error) {
	e := &env{memKiB: memKiB}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	quiet := slog.New(slog.DiscardHandler)
	hostKiB := uint64(vms)*(memKiB+1024) + hostOverheadKiB
	if e.h, err = sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: hostKiB}, Logger: quiet}); err != nil {
		return nil, err
	}
	if e.dir, err = os.MkdirTemp("", "bootstorm-"); err != nil {
		return nil, err
	}
	if e.store, err = statedir.Open(e.dir); err != nil {
		return nil, err
	}
	dial := func(context.Context) (*xenstore.Client, error) {
		nc, err := e.h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
	e.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	pid, err := e.system.Root.SpawnNamed(host.Props(host.Config{StateDir: e.store, Hypervisor: e.h.Hypervisor(),
		Dial: dial, Hotplug: e.h.Hotplug().Device(), Logger: quiet}), "host")
	if err != nil {
		return nil, err
	}
	e.host = host.NewClient(e.system, pid)
	tpid, err := e.host.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	e.tasks = tasks.NewClient(e.system, tpid)
	return e, nil
}

// close stops the actors and the simulated host and removes the state
// directory.
func (e *env) close() {
	if e.system != nil {
		if pid := e.host.PID(); pid != nil {
			_ = e.system.Root.StopFuture(pid).Wait()
		}
		e.system.Shutdown()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
	if e.h != nil {
		_ = e.h.Close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// spec is VM i's: PV, one vCPU, one VBD and one VIF, image.
func (e *env) spec(prefix string, i int, image string) vm.Spec {
	uuid := fmt.Sprintf("%s-0000-4000-8000-%012x", prefix, i)
	return vm.Spec{UUID: uuid, Name: fmt.Sprintf("storm-%s-%d", prefix, i), Type: hypervisor.DomainTypePV,
		VCPUs: 1, MemoryKiB: e.memKiB, Kernel: image, OnShutdown: vm.ActionDestroy,
		VBDs: []vm.VBD{{DevID: 51712, Params: fmt.Sprintf("/dev/loop%d", i)}},
		VIFs: []vm.VIF{{DevID: 0, MAC: fmt.Sprintf("00:16:3e:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff),
			Bridge: "xenbr0"}}}
}

// add registers specs, concurrency at a time.
func (e *env) add(ctx context.Context, specs []vm.Spec, concurrency int) ([]vm.Client, error) {
	clients := make([]vm.Client, len(specs))
	err := forEach(ctx, len(specs), concurrency, func(i int) error {
		c, err := e.host.AddVM(ctx, specs[i])
		clients[i] = c
		return err
	})
	return clients, err
}

// run runs op (a StartVM or ShutdownVM through c) and waits for its task;
// it returns how long that took.
func (e *env) run(ctx context.Context, op func(context.Context) (string, error)) (time.Duration, error) {
	t0 := time.Now()
	id, err := op(ctx)
	if err != nil {
		return 0, err
	}
	task, err := e.tasks.Wait(ctx, id)
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if task.State != tasks.Completed {
		return d, fmt.Errorf("task %s %s: %s", id, task.State, task.Error)
	}
	// Finished tasks are capped, but a long run need not keep them.
	_ = e.tasks.Destroy(ctx, id)
	return d, nil
}

// start starts every client, concurrency at a time, and returns the start
// latency of each (0 for a failed one) and the failures.
func (e *env) start(ctx context.Context, clients []vm.Client, concurrency int) ([]time.Duration, []error) {
	lat := make([]time.Duration, len(clients))
	errs := make([]error, len(clients))
	_ = forEach(ctx, len(clients), concurrency, func(i int) error {
		d, err := e.run(ctx, func(ctx context.Context) (string, error) { return clients[i].Start(ctx, false) })
		if err != nil {
			errs[i] = fmt.Errorf("start %s: %w", clients[i].PID().Id, err)
			return nil
		}
		lat[i] = d
		return nil
	})
	return lat, errs
}

// stop shuts every client down hard, concurrency at a time.
func (e *env) stop(ctx context.Context, clients []vm.Client, concurrency int) error {
	return forEach(ctx, len(clients), concurrency, func(i int) error {
		_, err := e.run(ctx, func(ctx context.Context) (string, error) { return clients[i].Shutdown(ctx, true) })
		if err != nil {
			return fmt.Errorf("shut down %s: %w", clients[i].PID().Id, err)
		}
		return nil
	})
}

// count returns the VMs the host lists as Running and the guest domains
// (dom0 aside) the hypervisor holds.
func (e *env) count(ctx context.Context) (running, domains int, err error) {
	list, err := e.host.ListVMs(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, v := range list {
		if v.PowerState == vm.Running {
			running++
		}
	}
	doms, err := e.h.Hypervisor().ListDomains(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range doms {
		if d.ID != 0 {
			domains++
		}
	}
	return running, domains, nil
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
