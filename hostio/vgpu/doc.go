// Package vgpu runs the vGPU emulators of HVM domains: one DEMU process per
// vGPU, started before the domain's device model as xenopsd does, with the
// arguments xenopsd gives it (--domain, --vcpus, --gpu, --config,
// --suspend, --resume) and a control socket that speaks QMP (hostio/qmp).
//
// Start launches DEMU with its control socket, pid file, log and config
// file in a run directory, waits (bounded) until the socket answers, and
// returns an Emulator: Done when the process dies, Save (the emulator
// writes its state, which the toolstack carries in the suspend image),
// Stop (QMP quit, then SIGTERM and SIGKILL after a grace). A DEMU outlives
// the daemon that started it, as its domain does: Adopt takes it over after
// a daemon restart (pid file, /proc/<pid>/exe and command line checked,
// the socket reconnected).
//
// DEMU is the Launcher the VM actors use; package demu is the stand-in
// program (xenactor-demu) that plays DEMU where there is no NVIDIA GPU.
package vgpu
