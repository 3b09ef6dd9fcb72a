package guest_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/guest"
)

// events.Client is what a daemon passes as the Notifier.
var _ guest.Notifier = events.Client{}

func ExampleRead() {
	xs := newMemStore(map[string]string{ // dom0's xenstore in a real daemon
		"/local/domain/3/data/os_name":           "Debian GNU/Linux 12 (bookworm)",
		"/local/domain/3/attr/vif/0/ipv4/0":      "10.0.3.2",
		"/local/domain/3/control/feature-reboot": "1",
	})
	m, err := guest.Read(context.Background(), xs, 3, guest.DefaultQuota())
	fmt.Println(m.OS.Name, m.Networks[0].IPv4, m.Features.Reboot, m.Truncated, err)
	// Output: Debian GNU/Linux 12 (bookworm) [10.0.3.2] true false <nil>
}

func ExampleProps() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	xs := newMemStore(map[string]string{"/local/domain/3/data/os_distro": "debian"})
	changed := make(chan string, 1) // an events.Client in a daemon
	pid := system.Root.Spawn(guest.Props(guest.Config{XS: xs, DomID: 3, VMUUID: "7f3a",
		Notifier: guest.NotifierFunc(func(id string) { changed <- id })}, guest.WithMinInterval(time.Second)))
	defer system.Root.Stop(pid)
	g := guest.NewClient(system, pid)

	fmt.Println(<-changed) // the first read
	m, _ := g.Metrics(context.Background())
	fmt.Println(m.OS.Distro)
	g.Refresh() // the VM actor sends this when a watch fires under the guest's home
	// Output:
	// vm/7f3a
	// debian
}
