package watches_test

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/watches"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/hostio/xenstore/xenstored"
)

func ExampleProps() {
	srv := xenstored.New(xenstored.Config{})
	defer srv.Close()
	dial := func(context.Context) (*xenstore.Client, error) {
		conn, err := srv.ConnectDomain(0)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(conn), nil
	}
	notes := make(chan watches.NeedsAttention, 16)
	notify := func(ctx context.Context, n watches.NeedsAttention) {
		select {
		case notes <- n:
		case <-ctx.Done():
		}
	}

	system := actor.NewActorSystem()
	defer system.Shutdown()
	pid := system.Root.Spawn(watches.Props(dial, notify))
	defer func() { _ = system.Root.StopFuture(pid).Wait() }()
	client := watches.NewClient(system, pid)

	ctx := context.Background()
	if err := client.WatchDomain(ctx, 5); err != nil {
		fmt.Println(err)
		return
	}
	for n := range notes {
		if n.DomID == 5 {
			fmt.Println(n.DomID, n.Why)
			break
		}
	}
	// Output: 5 watched
}
