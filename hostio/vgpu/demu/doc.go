// Package demu is a stand-in for DEMU, the emulator of an NVIDIA vGPU that
// xenopsd starts for a domain before its device model. It runs as the
// program xenactor-demu (and inside tests, re-executed by the test
// binary) with the arguments xenopsd gives DEMU:
//
//	--domain=<domid> --vcpus=<n> --gpu=<physical GPU BDF> --config=<file>
//	--suspend=<state file> [--resume] --control=<socket>
//
// The config file holds the vGPU's type, instance uuid and devid, one
// key=value a line. The stand-in "emulates" the vGPU: it keeps a state (the
// framebuffer size of its type and a frame counter) and serves a QMP-like
// control socket (a greeting, then one JSON command a line):
//
//	qmp_capabilities   the handshake
//	query-status       {"status": "running"}
//	query-vgpu         the state: domain, gpu, type, uuid, framebuffer-bytes,
//	                   frames, resumed
//	vgpu-frame         {"count": n} adds n frames (what a guest's rendering
//	                   would do)
//	save-state         writes the state to the --suspend file, atomically
//	quit               exits 0
//
// With --resume it reads its state back from the --suspend file at start
// and refuses one saved by a vGPU of another type, GPU or uuid. SIGTERM
// ends it cleanly; the socket is removed either way.
package demu
