// Package emu drives the save/restore helper (XenServer's emu-manager, which
// runs xenguest and the emulators) as a separate short-lived process, with
// the reference's line protocol on its control channel:
//
//	from the helper:  suspend:           suspend the guest now, answer done
//	                  prepare:<emu>      get <emu> ready for the next step
//	                  info:<text>        progress and debug ("info:progress 42")
//	                  result:<text>      the operation succeeded
//	                  error:<message>    the operation failed
//	to the helper:    done               the guest is suspended
//	                  restore:<emu>      restore <emu>'s part of the image now
//	                  abort              stop and exit non-zero
//
// The toolstack side is Session: it starts the helper in its own process
// group, reads its lines on a goroutine, and bounds every wait with a
// timeout, so that a helper that exits without a result, stalls, or prints
// garbage fails the operation at once; Close kills the whole group and
// reaps it. The helper side uses ParseArgs, the commands and the Message
// formatting (cmd/xenactor-emu-manager).
//
// Build runs the domain build of a start in a xenguest helper
// (xenguest -mode pv_build|pvh_build|hvm_build, cmd/xenactor-xenguest) on a
// Session with the same bounds: the helper prints info: lines, then
// result:<store gfn> <console gfn> <store port> <console port> or
// error:<message>; BuildArgs are its arguments.
package emu
