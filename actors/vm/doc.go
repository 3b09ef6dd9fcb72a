// Package vm is the VM actor: one actor per VM, spawned as "vm/<uuid>",
// that runs the VM's operations (start, pause, unpause, clean and hard
// shutdown, destroy) one at a time, in order, as xenopsd's per-VM queue
// does.
//
// Every command but StatVM is answered at once with an OperationReply
// naming a task of the task registry (actors/tasks). The operation then
// runs its atoms (hostio calls only: the hypervisor interface, xenstore
// and hotplug, so the same actor runs on the simulated host and on Xen) on
// a goroutine that reports back to the actor with self-messages, so the
// actor's mailbox never blocks and StatVM is answered while an operation
// runs. A hard shutdown pre-empts a clean one that is running or queued by
// cancelling it. Every change is announced to the events actor as
// "vm/<uuid>".
//
// In this first slice the PV devices are plugged and unplugged by
// functions of the VM actor's operations (device.go), not yet by vbd/vif
// child actors, and the VM's record is not yet persisted.
package vm
