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
// Each PV device has a child actor, "vbd/<devid>" or "vif/<devid>",
// supervised by Config.DeviceSupervisor: it writes the device's trees in
// one transaction, runs hotplug and waits through watches, and unplugs by
// force. A panic in one restarts that device actor only; the operation
// waiting on it fails with errdefs.ErrUnavailable and tears down cleanly.
//
// Not yet: the VM's record is not persisted, so a restarted VM actor does
// not know its domain (and its device actors are respawned empty).
package vm
