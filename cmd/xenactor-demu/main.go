// Command xenactor-demu is a stand-in for DEMU, the NVIDIA vGPU emulator:
// see package hostio/vgpu/demu.
package main

import (
	"os"

	"github.com/xenactor/xenactor/hostio/vgpu/demu"
)

func main() {
	os.Exit(demu.Main(os.Args[1:], os.Stderr))
}
