// Command xenactor-emu-manager is the project's save/restore helper, the
// stand-in for XenServer's emu-manager and the save/restore part of
// xenguest: the VM actor runs it for each suspend and resume, passes the
// image on descriptor 3, and drives it with the line protocol of package
// hostio/emu on its stdin and stdout. It reaches the hypervisor over the
// hvremote socket named by -hypervisor.
//
//	xenactor-emu-manager -mode save|hvm_save|restore|hvm_restore -domid <d> \
//	    -fd <n> | -image <path> -hypervisor <socket> [-controlinfd <n>] [-controloutfd <n>]
//
// It exits 0 after printing result:, and 1 after printing error:
// (an abort, a closed control channel, a failed save or restore); 2 for
// bad arguments.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenactor/xenactor/hostio/emu"
)

func main() {
	args, err := emu.ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-emu-manager:", err)
		fmt.Fprintf(os.Stdout, "%s\n", emu.Message{Kind: emu.KindError, Arg: err.Error()})
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	in, out := os.NewFile(uintptr(args.ControlInFD), "control-in"), os.NewFile(uintptr(args.ControlOutFD), "control-out")
	err = run(ctx, args, in, out)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-emu-manager:", err)
		os.Exit(1)
	}
}
