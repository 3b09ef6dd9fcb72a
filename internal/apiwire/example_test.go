package apiwire_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/messages"
)

// The daemon serves the API before it spawns its actors, the "api" actor
// among them.
func ExampleServe() {
	system := actor.NewActorSystem()
	srv, err := apiwire.Serve(system, apiwire.ServerConfig{
		Address:        apiwire.DefaultAddress,
		CredentialsDir: "/var/lib/xenactor/api",
		Logger:         slog.Default(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()
	// system.Root.SpawnNamed(apiProps, apiwire.APIActor) ...
}

// A client finds the client.json the daemon wrote and calls the API.
func ExampleDial() {
	cfg, err := apiwire.FindClientConfig("")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := apiwire.Dial(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	resp, err := conn.Call(ctx, &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.GetHostInfo().GetHostname())
}
