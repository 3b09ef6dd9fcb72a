package hvremote_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// A hypervisor served on a Unix socket, driven from a client as the
// daemon drives an xenactor-simhost.
func ExampleDial() {
	dir, _ := os.MkdirTemp("", "hvr")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hypervisor.sock")
	l, err := hvremote.Listen(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := hvremote.NewServer(hvsim.New(hvsim.Config{}), nil)
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	ctx := context.Background()
	hv, err := hvremote.Dial(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer hv.Close()
	id, err := hv.Create(ctx, hypervisor.CreateConfig{UUID: "6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 16 << 10})
	fmt.Println(id, err)
	_, err = hv.DomainInfo(ctx, 99)
	fmt.Println(err != nil)
	// Output:
	// 1 <nil>
	// true
}
