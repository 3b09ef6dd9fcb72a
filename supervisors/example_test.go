package supervisors_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/supervisors"
)

// plug asks the vm actor to spawn the vbd actor of devid.
type plug struct{ devid int }

// attach asks a vbd actor to attach its disk; it fails while the backend
// is not ready, and for a bad mode.
type attach struct {
	ready bool
	mode  string
}

type vmActor struct{}

func (vmActor) Receive(ctx actor.Context) {
	if msg, ok := ctx.Message().(plug); ok {
		props := actor.PropsFromProducer(func() actor.Actor { return &vbdActor{devid: msg.devid} })
		pid, err := ctx.SpawnNamed(props, fmt.Sprint("vbd/", msg.devid)) // family "vbd"
		if err != nil {
			panic(err)
		}
		ctx.Respond(pid)
	}
}

type vbdActor struct{ devid int }

func (a *vbdActor) Receive(ctx actor.Context) {
	if msg, ok := ctx.Message().(attach); ok {
		switch {
		case msg.mode != "r" && msg.mode != "w":
			panic(fmt.Errorf("vbd %d: mode %q: %w", a.devid, msg.mode, errdefs.ErrInvalid))
		case !msg.ready:
			panic(fmt.Errorf("vbd %d: backend: %w", a.devid, errdefs.ErrUnavailable))
		}
		ctx.Respond(ctx.Self().Id + " attached")
	}
}

// Example spawns a VM actor whose device actors are supervised by a
// Strategy: a transient failure restarts the device after a backoff, an
// invalid request stops it and tells the owner.
func Example() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()

	gaveUp := make(chan string, 1)
	devices := supervisors.New(
		supervisors.WithBackoff(supervisors.Backoff{Base: 10 * time.Millisecond, Max: time.Second, Jitter: 0.2}),
		supervisors.WithLimit(3, time.Minute),
		supervisors.OnGiveUp(func(child *actor.PID, reason any) {
			gaveUp <- fmt.Sprintf("%s: %v", child.Id, reason) // in xenactord: a message to the VM's owner
		}),
	)
	vm, _ := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return vmActor{} },
		actor.WithSupervisor(devices)), "vm/0f1e")
	reply, _ := system.Root.RequestFuture(vm, plug{devid: 51712}, time.Second).Result()
	vbd := reply.(*actor.PID)

	system.Root.Send(vbd, attach{ready: false, mode: "w"}) // fails: restarted after 10ms
	reply, _ = system.Root.RequestFuture(vbd, attach{ready: true, mode: "w"}, time.Second).Result()
	fmt.Println(reply)

	system.Root.Send(vbd, attach{ready: true, mode: "rx"}) // fails: stopped
	fmt.Println("gave up on", <-gaveUp)

	for _, r := range devices.Accounting().Snapshot() {
		fmt.Printf("%s %s: failures %d, restarts %d, stops %d\n", r.Family, r.Reason, r.Failures, r.Restarts, r.Stops)
	}
	// Output:
	// vm/0f1e/vbd/51712 attached
	// gave up on vm/0f1e/vbd/51712: vbd 51712: mode "rx": invalid argument
	// vbd invalid: failures 1, restarts 0, stops 1
	// vbd unavailable: failures 1, restarts 1, stops 0
}
