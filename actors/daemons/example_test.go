package daemons_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/hostio/process"
)

// A daemon's actor starts its process and reports its state; stopping the
// actor stops the process.
func ExampleProps() {
	run, err := os.MkdirTemp("", "x")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(run)
	m, err := process.NewManager(run, process.WithGrace(5*time.Second))
	if err != nil {
		panic(err)
	}
	system := actor.NewActorSystem()
	defer system.Shutdown()

	running := make(chan daemons.Status, 1)
	pid := system.Root.Spawn(daemons.Props(daemons.Config{
		Manager: m,
		Spec:    process.Spec{Name: "sleeper", Path: "sleep", Args: []string{"3600"}},
		Notify: func(s daemons.Status) {
			if s.State == daemons.StateRunning {
				running <- s
			}
		},
	}))
	c := daemons.NewClient(system, pid)
	s := <-running
	fmt.Println(s.Name, s.State, s.Adopted)

	if err := c.Stop(context.Background()); err != nil {
		panic(err)
	}
	_, err = os.Stat(m.PidFile("sleeper"))
	fmt.Println("pid file removed:", os.IsNotExist(err))
	// Output:
	// sleeper running false
	// pid file removed: true
}
