package tasks_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/tasks"
)

// Example runs one task through the registry: the operation completes it
// while the client waits, then the client destroys it.
func Example() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	pid := system.Root.Spawn(tasks.Props())
	defer system.Root.Stop(pid)
	registry := tasks.NewClient(system, pid)
	ctx := context.Background()

	id, _ := registry.Create(ctx, tasks.CreateTask{Kind: "VM.start", Subject: "7f3a"})
	go func() { // the operation
		_ = registry.UpdateProgress(ctx, id, 0.5)
		_ = registry.Complete(ctx, id, []byte(`{"domid":3}`))
	}()

	task, _ := registry.Wait(ctx, id)
	fmt.Println(task.ID, task.Kind, task.State, string(task.Result))
	_ = registry.Destroy(ctx, id)
	// Output: task-1 VM.start completed {"domid":3}
}
