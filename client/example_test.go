package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// startDaemon starts a xenactord on an embedded simulated host in a
// temporary directory and returns a client of its API, in process, and the
// function that stops it all.
func startDaemon(ctx context.Context) (*client.Client, func()) {
	dir, err := os.MkdirTemp("", "xac")
	if err != nil {
		log.Fatal(err)
	}
	d, err := daemon.Start(ctx, daemon.Config{StateDir: filepath.Join(dir, "state"), RunDir: dir,
		HostMemoryMiB: 1024})
	if err != nil {
		log.Fatal(err)
	}
	c := client.New(client.InProcess(d.System(), d.API()))
	return c, func() {
		_ = c.Close()
		_ = d.Stop()
		_ = os.RemoveAll(dir)
	}
}

// spec is a small PV VM with a disk and a network interface.
func spec(uuid string) *messages.VMSpec {
	return &messages.VMSpec{Uuid: uuid, Name: "web", Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1,
		MemoryKib: 64 << 10, Kernel: "sim:linux",
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:00:00:01", Bridge: "xenbr0"}}}
}

// Create a VM, start it and wait for the start's task.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, stop := startDaemon(ctx)
	defer stop()

	uuid := "6f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3b"
	if err := c.CreateVM(ctx, spec(uuid)); err != nil {
		log.Fatal(err)
	}
	task, err := c.StartVM(ctx, uuid, false)
	if err != nil {
		log.Fatal(err)
	}
	done, err := task.Wait(ctx, func(t *messages.Task) { /* t.Progress goes from 0 to 1 */ })
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.StatVM(ctx, uuid)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(done.Kind, done.State)
	fmt.Println(st.PowerState)
	// Output:
	// VM.start TASK_STATE_COMPLETED
	// POWER_STATE_RUNNING
}

// Follow the update stream: ids of what changed, never their data.
func ExampleClient_Events() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, stop := startDaemon(ctx)
	defer stop()

	// Where the stream is now: a barrier's sequence.
	b, err := c.Barrier(ctx)
	if err != nil {
		log.Fatal(err)
	}
	uuid := "0b8e2f4a-1c3d-4e5f-9a6b-7c8d9e0f1a2b"
	if err := c.CreateVM(ctx, spec(uuid)); err != nil {
		log.Fatal(err)
	}
	task, err := c.StartVM(ctx, uuid, false)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := task.Wait(ctx, nil); err != nil {
		log.Fatal(err)
	}
	// Everything changed before this barrier is seen once the stream
	// reaches it.
	end, err := c.Barrier(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fctx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	var ids []string
	for batch := range c.Events(fctx, b.Seq) {
		if batch.Resync {
			// Re-list everything, then carry on from batch.Next.
			continue
		}
		ids = append(ids, batch.Ids...)
		if batch.Next >= end.Seq {
			break
		}
	}
	fmt.Println("VM changed:", slices.Contains(ids, "vm/"+uuid))
	fmt.Println("its task changed:", slices.Contains(ids, "task/"+task.ID))
	// Output:
	// VM changed: true
	// its task changed: true
}

// Errors carry the daemon's errdefs kind.
func ExampleError() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, stop := startDaemon(ctx)
	defer stop()

	_, err := c.StatVM(ctx, "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a")
	fmt.Println(errdefs.IsNotFound(err))
	if e, ok := err.(*client.Error); ok {
		fmt.Println(e.Kind)
	}
	// Output:
	// true
	// not_found
}
