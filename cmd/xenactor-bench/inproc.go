package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/bench/bootstorm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// hostOverheadKiB is what the simulated host's memory holds beyond the
// VMs'.
const hostOverheadKiB = 64 << 20

// inprocDaemon is the daemon's actor tree in this process, wired as
// cmd/xenactord wires it: the host actor with a state directory in a
// temporary directory, on a fresh simulated host.
type inprocDaemon struct {
	h      *sim.Host
	dir    string
	store  *statedir.Store
	system *actor.ActorSystem
	host   host.Client
	tasks  tasks.Client

	mu      sync.Mutex
	clients map[string]vm.Client
}

var _ bootstorm.Daemon = (*inprocDaemon)(nil)

// newInprocDaemon is a bootstorm.NewDaemon: a simulated host with memory
// for vms VMs of memKiB each, and the host actor.
func newInprocDaemon(ctx context.Context, vms int, memKiB uint64) (_ bootstorm.Daemon, err error) {
	d := &inprocDaemon{clients: make(map[string]vm.Client)}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	quiet := slog.New(slog.DiscardHandler)
	hostKiB := uint64(vms)*(memKiB+1024) + hostOverheadKiB
	if d.h, err = sim.New(sim.Config{Hypervisor: hvsim.Config{HostMemoryKiB: hostKiB}, Logger: quiet}); err != nil {
		return nil, err
	}
	if d.dir, err = os.MkdirTemp("", "xenactor-boot-"); err != nil {
		return nil, err
	}
	if d.store, err = statedir.Open(d.dir); err != nil {
		return nil, err
	}
	dial := func(context.Context) (*xenstore.Client, error) {
		nc, err := d.h.Xenstore().ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
	d.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	pid, err := d.system.Root.SpawnNamed(host.Props(host.Config{StateDir: d.store, Hypervisor: d.h.Hypervisor(),
		Dial: dial, Hotplug: d.h.Hotplug().Device(), Logger: quiet}), "host")
	if err != nil {
		return nil, err
	}
	d.host = host.NewClient(d.system, pid)
	tpid, err := d.host.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	d.tasks = tasks.NewClient(d.system, tpid)
	return d, nil
}

// AddVM registers v as a vm.Spec with one VBD and one VIF.
func (d *inprocDaemon) AddVM(ctx context.Context, v bootstorm.VM) error {
	c, err := d.host.AddVM(ctx, vm.Spec{UUID: v.UUID, Name: v.Name, Type: hypervisor.DomainTypePV, VCPUs: 1,
		MemoryKiB: v.MemoryKiB, Kernel: v.Image, OnShutdown: vm.ActionDestroy,
		VBDs: []vm.VBD{{DevID: 51712, Params: v.DiskParams}},
		VIFs: []vm.VIF{{DevID: 0, MAC: v.MAC, Bridge: v.Bridge}}})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.clients[v.UUID] = c
	d.mu.Unlock()
	return nil
}

// StartVM starts VM uuid and waits for its task.
func (d *inprocDaemon) StartVM(ctx context.Context, uuid string) error {
	return d.run(ctx, uuid, func(c vm.Client) (string, error) { return c.Start(ctx, false) })
}

// ShutdownVM shuts VM uuid down hard and waits for its task.
func (d *inprocDaemon) ShutdownVM(ctx context.Context, uuid string) error {
	return d.run(ctx, uuid, func(c vm.Client) (string, error) { return c.Shutdown(ctx, true) })
}

func (d *inprocDaemon) run(ctx context.Context, uuid string, op func(vm.Client) (string, error)) error {
	d.mu.Lock()
	c, ok := d.clients[uuid]
	d.mu.Unlock()
	if !ok {
		var err error
		if c, err = d.host.VM(ctx, uuid); err != nil {
			return err
		}
	}
	id, err := op(c)
	if err != nil {
		return err
	}
	task, err := d.tasks.Wait(ctx, id)
	if err != nil {
		return err
	}
	if task.State != tasks.Completed {
		return fmt.Errorf("task %s %s: %s", id, task.State, task.Error)
	}
	// Finished tasks are capped, but a long run need not keep them.
	_ = d.tasks.Destroy(ctx, id)
	return nil
}

// Count returns the VMs the host lists as Running and the guest domains
// the hypervisor holds.
func (d *inprocDaemon) Count(ctx context.Context) (running, domains int, err error) {
	list, err := d.host.ListVMs(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, v := range list {
		if v.PowerState == vm.Running {
			running++
		}
	}
	doms, err := d.h.Hypervisor().ListDomains(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, dom := range doms {
		if dom.ID != 0 {
			domains++
		}
	}
	return running, domains, nil
}

// Close stops the actors and the simulated host and removes the state
// directory.
func (d *inprocDaemon) Close() error {
	if d.system != nil {
		if pid := d.host.PID(); pid != nil {
			_ = d.system.Root.StopFuture(pid).Wait()
		}
		d.system.Shutdown()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.h != nil {
		_ = d.h.Close()
	}
	if d.dir != "" {
		return os.RemoveAll(d.dir)
	}
	return nil
}
