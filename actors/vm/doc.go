// Package vm is the VM actor: one actor per VM, spawned as "vm/<uuid>",
// that runs the VM's operations (start, pause, unpause, clean and hard
// shutdown, clean and hard reboot, destroy, memory target, online vCPUs,
// hot-plug and unplug of VBDs and VIFs) one at a time, in order, as
// xenopsd's per-VM queue does.
//
// Every command but StatVM and CheckState is answered at once with an
// OperationReply naming a task of the task registry (actors/tasks). The
// operation then runs its atoms (hostio calls only: the hypervisor
// interface, xenstore and hotplug, so the same actor runs on the simulated
// host and on Xen) on a goroutine that reports back to the actor with
// self-messages, so the actor's mailbox never blocks and StatVM is answered
// while an operation runs. A hard shutdown pre-empts a clean shutdown or
// clean reboot that is running or queued by cancelling it. Every change is
// announced to the events actor as "vm/<uuid>".
//
// Check state: the actor subscribes to the hypervisor's domain events
// (and takes CheckState from anyone, e.g. the watches actor); each queues an
// internal check operation, at most one waiting, with no task. The check
// applies Spec.OnShutdown, OnReboot or OnCrash (destroy, restart or
// preserve; XenServer's defaults destroy, restart, restart) to a domain
// that shut down by itself, and cleans up after a domain that vanished.
// A VM that crashed more than Config.CrashLoopMax times within
// CrashLoopWindow is left Halted with VMStatus.CrashLoop set. The error of
// the last failed check is VMStatus.LastError; a StartVM clears both.
//
// Each PV device has a child actor, "vbd/<devid>" or "vif/<devid>",
// supervised by Config.DeviceSupervisor: it writes the device's trees in
// one transaction, runs hotplug and waits through watches, and unplugs by
// force. A panic in one restarts that device actor only; the operation
// waiting on it fails with errdefs.ErrUnavailable and tears down cleanly.
//
// While the VM has a domain, its guest actor (actors/guest) runs as the
// child "guest", supervised by Config.GuestSupervisor: it is spawned when a
// start, a restart or an adoption gives the VM a domain, and stopped (its
// read cancelled, its metrics dropped) as soon as a teardown of that domain
// begins. A CheckState whose reasons name an area the guest writes (data,
// attr, memory, feature, control; also watched and reconnected) makes it
// read the guest's reports again; reasons that are only data, attr, memory
// and feature queue no check, so a guest that rewrites its reports in a
// loop costs no hypervisor queries. The guest actor sends the metrics that
// changed to the VM actor, which keeps them for VMStatus.Guest and
// announces "vm/<uuid>". A panic in the guest actor restarts it alone; one
// its supervisor gave up on is not spawned again for the same domain.
//
// Not yet: the VM's record is not persisted, so a restarted VM actor does
// not know its domain (and its device actors are respawned empty); devices
// hot-plugged into the spec are lost with it too. Suspend reasons are left
// alone by the check.
package vm
