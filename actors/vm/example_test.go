package vm_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Example starts a VM on the simulated host and shuts it down cleanly.
func Example() {
	h, _ := sim.New(sim.Config{Logger: slog.New(slog.DiscardHandler)})
	defer h.Close()
	nc, _ := h.Xenstore().ConnectDomain(0)
	xs := xenstore.NewClient(nc)
	defer xs.Close()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	registry := tasks.NewClient(system, system.Root.Spawn(tasks.Props()))

	spec := vm.Spec{UUID: "7f3a2c1e-0000-4000-8000-000000000001", Name: "web", Type: hypervisor.DomainTypePV,
		VCPUs: 1, MemoryKiB: 64 << 10, Kernel: "sim:linux",
		VBDs: []vm.VBD{{DevID: 51712, Params: "/dev/loop0"}},
		VIFs: []vm.VIF{{DevID: 0, MAC: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
	pid, _ := system.Root.SpawnNamed(vm.Props(vm.Config{Spec: spec, Hypervisor: h.Hypervisor(), Xenstore: xs,
		Hotplug: h.Hotplug().Device(), Tasks: registry.PID()}), vm.Name(spec.UUID))
	machine := vm.NewClient(system, pid)
	ctx := context.Background()

	id, _ := machine.Start(ctx, false)
	task, _ := registry.Wait(ctx, id)
	st, _ := machine.Stat(ctx)
	fmt.Println(task.Kind, task.State, st.PowerState)

	id, _ = machine.Shutdown(ctx, false)
	task, _ = registry.Wait(ctx, id)
	st, _ = machine.Stat(ctx)
	fmt.Println(task.Kind, task.State, st.PowerState)
	// Output:
	// VM.start completed Running
	// VM.shutdown completed Halted
}
