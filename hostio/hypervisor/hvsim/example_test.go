package hvsim_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// A domain's life on a simulated host: create, build, run, suspend, save
// and restore into a new domain.
func ExampleNew() {
	ctx := context.Background()
	sim := hvsim.New(hvsim.Config{HostMemoryKiB: 4 << 20})

	id, err := sim.Create(ctx, hypervisor.CreateConfig{
		UUID: "8b0e1f52-4c2a-4d7e-9f10-2a3b4c5d6e7f", Type: hypervisor.DomainTypePVH, MaxVCPUs: 2, MaxMemKiB: 256 << 10,
	})
	if err != nil {
		panic(err)
	}
	res, _ := sim.Build(ctx, id, hypervisor.BuildConfig{Kernel: "/boot/vmlinuz", MemoryKiB: 256 << 10})
	_ = sim.Unpause(ctx, id)
	_ = sim.WritePage(ctx, id, 42, []byte("hello"))
	_ = sim.GuestShutdown(id, hypervisor.ShutdownSuspend)
	info, _ := sim.DomainInfo(ctx, id)
	fmt.Printf("domain %d: %d KiB, shut down for %s, xenstore ring at gfn %#x port %d\n",
		id, info.MemoryKiB, info.ShutdownReason, res.StoreGFN, res.StorePort)

	var image bytes.Buffer
	_ = sim.Save(ctx, id, &image, hypervisor.SaveOptions{})
	_ = sim.Destroy(ctx, id)
	resumed, _ := sim.Create(ctx, hypervisor.CreateConfig{
		UUID: "8b0e1f52-4c2a-4d7e-9f10-2a3b4c5d6e7f", Type: hypervisor.DomainTypePVH, MaxVCPUs: 2, MaxMemKiB: 256 << 10,
	})
	_, err = sim.Restore(ctx, resumed, &image)
	page, _ := sim.ReadPage(ctx, resumed, 42)
	fmt.Printf("restored as domain %d: %v, page 42 says %q\n", resumed, err, page[:5])
	// Output:
	// domain 1: 262144 KiB, shut down for suspend, xenstore ring at gfn 0xffff port 1
	// restored as domain 2: <nil>, page 42 says "hello"
}
