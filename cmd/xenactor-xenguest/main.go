// Command xenactor-xenguest is the project's domain builder, the stand-in
// for XenServer's xenguest in its build modes: the VM actor runs it for
// the build step of a start, as xenopsd runs xenguest, and reads its
// result on its stdout with the line protocol of package hostio/emu. It
// reaches the hypervisor over the hvremote socket named by -hypervisor.
//
//	xenactor-xenguest -mode pv_build|pvh_build|hvm_build -domid <d> -mem_max_mib <n> -mem_start_mib <n> \
//	    -image <kernel> [-ramdisk <path>] [-cmdline <text>] -store_port <p> -console_port <p> \
//	    -store_domid 0 -console_domid 0 -hypervisor <socket> [-controlinfd <n>] [-controloutfd <n>]
//
// It prints result:<store gfn> <console gfn> <store port> <console port>
// and exits 0, or prints error:<message> and exits 1 (a failed build, an
// abort, or the end of its control input: the toolstack is gone); for
// bad arguments it prints error: and exits 2.
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
	args, err := emu.ParseBuildArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-xenguest:", err)
		fmt.Fprintf(os.Stdout, "%s\n", emu.Message{Kind: emu.KindError, Arg: err.Error()})
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	in, out := os.NewFile(uintptr(args.ControlInFD), "control-in"), os.NewFile(uintptr(args.ControlOutFD), "control-out")
	err = run(ctx, args, in, out)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xenactor-xenguest:", err)
		os.Exit(1)
	}
}
