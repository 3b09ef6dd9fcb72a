package events_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/events"
)

// Example follows the stream up to a barrier: the client has seen every
// change announced before it.
func Example() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	pid := system.Root.Spawn(events.Props())
	defer system.Root.Stop(pid)
	stream := events.NewClient(system, pid)
	ctx := context.Background()

	stream.Changed("vm/7f3a")
	stream.Changed("vbd/7f3a/51712")
	stream.Changed("vm/7f3a")
	barrier, _ := stream.Barrier(ctx)

	var from uint64
	for !barrier.Reached(from) {
		batch, err := stream.Next(ctx, from)
		if err != nil {
			return
		}
		fmt.Println(batch.IDs)
		from = batch.Next
	}
	// Output: [vbd/7f3a/51712 vm/7f3a barrier/1]
}
