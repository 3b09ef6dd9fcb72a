package console_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/console"
	cons "github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
)

// The console daemon logs each guest's console in <LogDir>/guest-<domid>.log.
func ExampleProps() {
	h, err := sim.New(sim.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	dir, _ := os.MkdirTemp("", "x")
	defer os.RemoveAll(dir)
	system := actor.NewActorSystem()
	defer system.Shutdown()
	pid := system.Root.Spawn(console.Props(console.Config{Dial: simtest.Dom0Dialer(h), Pages: h.Sim(), LogDir: dir,
		NoPTY: true, Logger: slog.New(slog.DiscardHandler)}))
	defer func() { _ = system.Root.StopFuture(pid).Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _ := simtest.NewBooter(ctx, h)
	defer b.Close()
	id, err := b.Boot(ctx, "sim:linux")
	if err != nil {
		panic(err)
	}
	for ctx.Err() == nil {
		log, _ := os.ReadFile(filepath.Join(dir, cons.LogName(uint32(id))))
		if line, _, ok := strings.Cut(string(log), "\n"); ok {
			fmt.Println(line)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: Linux version 6.1.0-xenactor (xenactor simulated guest) #1 SMP PREEMPT_DYNAMIC
}
