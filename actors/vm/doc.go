// Package vm is the VM actor: one actor per VM, spawned as "vm/<uuid>",
// that runs the VM's operations (start, pause, unpause, clean and hard
// shutdown, clean and hard reboot, suspend and resume, destroy, memory
// target, online vCPUs, hot-plug and unplug of VBDs and VIFs) one at a
// time, in order, as xenopsd's per-VM queue does.
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
// Suspend (SuspendVM) asks the guest (control/shutdown=suspend), waits
// for its acknowledgement and its shutdown for suspend, saves the memory
// image to a file (0600, written atomically) and tears the domain down:
// the VM is Suspended, VMStatus.SuspendImage names the file. A guest that
// cannot or does not suspend fails the task and stays Running. Once the
// guest suspended, the hypervisor interface cannot resume it in place, so
// a save that fails or is cancelled leaves the domain Shutdown with
// LastError set, for a DestroyVM. Resume (ResumeVM) creates a domain,
// restores the image instead of building, and runs the rest of a start;
// it deletes the image on success and leaves the VM Suspended with it on
// failure. A Suspended VM is not started (errdefs.ErrBusy); a DestroyVM
// deletes its image. With Config.EmuManager set, the save and the restore
// run in a helper process (emu-manager) driven with the line protocol of
// hostio/emu, every step bounded; a helper that fails leaves the VM as a
// failed in-process save or restore does, and is killed with its group.
// With Config.Xenguest set, the build step of a start (and of a reboot's
// start) runs in a domain builder process (xenguest) the same way; a
// builder that fails fails the start, which destroys its domain.
//
// Spec.Validate checks a spec; a start validates it. PCI, vGPU and VUSB
// records are part of the spec and of StatVM, but a start or resume of a
// VM that has any fails with errdefs.ErrNotImplemented: the device-model
// daemon they need does not exist yet.
//
// Device model: with Config.DeviceModels set (a devicemodel.Launcher),
// every domain of an HVM VM (Spec.Type hypervisor.DomainTypeHVM) gets a
// device model (QEMU over QMP). A start or resume starts it after the
// devices are plugged and before the unpause (stopped over QMP when the VM
// stays paused); the teardown stops it before the domain is destroyed;
// PauseVM and UnpauseVM stop and continue it with the domain; an adoption
// takes it over (one that is gone crashes the domain). A device model
// that ends by itself crashes its domain (shut down with reason crash), so
// that the check applies Spec.OnCrash; LastError says "device model
// exited". Without a launcher, and for PV and PVH VMs, there is none.
//
// Each PV device has a child actor, "vbd/<devid>" or "vif/<devid>",
// supervised by Config.DeviceSupervisor: it writes the device's trees in
// one transaction, runs hotplug and waits through watches, and unplugs by
// force. A panic in one restarts that device actor only; the operation
// waiting on it fails with errdefs.ErrUnavailable and tears down cleanly.
// A VBD with a VDI is attached and activated through its SR's storage
// plugin (Config.Storage) before its trees are written, and deactivated
// and detached after its unplug (storage.go).
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
// hot-plugged into the spec are lost with it too, and so is the image of
// a Suspended VM. A domain that shut down for suspend outside a suspend is
// left alone by the check, with LastError set.
package vm
