package vgpu_test

import (
	"fmt"

	"github.com/xenactor/xenactor/hostio/vgpu"
)

// The arguments DEMU gets for vGPU 0 of domain 7, resuming from a saved
// state: xenopsd's, and the control socket.
func ExampleConfig_Args() {
	cfg := vgpu.Config{RunDir: "/run/xenactor/vgpu"}
	dev := vgpu.Device{DomID: 7, VCPUs: 2, DevID: 0, Type: "GRID T4-2Q", GPU: "0000:81:00.0",
		UUID: "0a7f3c1e-5b2d-4e8f-9c6a-1d2e3f405162"}
	for _, a := range cfg.Args(dev, cfg.Files(dev), true) {
		fmt.Println(a)
	}
	// Output:
	// --domain=7
	// --vcpus=2
	// --gpu=0000:81:00.0
	// --config=/run/xenactor/vgpu/demu-7-0.conf
	// --suspend=/run/xenactor/vgpu/demu-7-0.state
	// --resume
	// --control=/run/xenactor/vgpu/demu-7-0.sock
}
