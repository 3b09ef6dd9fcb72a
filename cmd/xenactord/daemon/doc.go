// Package daemon assembles xenactord: the hypervisor and xenstored it
// drives, the state directory, the actor system and the host actor. The
// command is flags around Start and Stop; tests run the same daemon in
// their own process, or start and stop it again on the same state
// directory to check that running domains are re-adopted.
//
// Two hosts are supported. The embedded simulated host (Hypervisor "sim")
// lives and dies with the daemon; its xenstored is served on
// <run-dir>/xenstored.sock. A remote simulated host (Hypervisor
// "unix:<path>", an xenactor-simhost's hypervisor.sock, with Xenstored its
// xenstored.sock) outlives the daemon, as a real Xen host outlives its
// toolstack.
package daemon
