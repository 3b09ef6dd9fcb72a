package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xenactor/xenactor/hostio/console"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// A domain's console drains what the guest printed in its ring into the
// domain's log.
func ExampleOpen() {
	ctx := context.Background()
	s := hvsim.New(hvsim.Config{})
	id, _ := s.Create(ctx, hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 1,
		MaxMemKiB: 64 << 10})
	res, _ := s.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 64 << 10})

	// The guest prints.
	page, _ := s.ReadPage(ctx, id, res.ConsoleGFN)
	_, _ = console.PutOutput(page, []byte("hello from the guest\n"))
	_ = s.WritePage(ctx, id, res.ConsoleGFN, page)

	dir, _ := os.MkdirTemp("", "x")
	defer os.RemoveAll(dir)
	c, err := console.Open(console.Config{DomID: uint32(id), RingRef: res.ConsoleGFN, Pages: s, LogDir: dir, NoPTY: true})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	moved, _ := c.Poll(ctx)
	log, _ := os.ReadFile(filepath.Join(dir, console.LogName(uint32(id))))
	fmt.Print(moved, " ", string(log))
	// Output: true hello from the guest
}
