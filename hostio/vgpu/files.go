package vgpu

import "os"

// removeFiles removes the socket and pid file, and the log, config and
// state file too if all.
func removeFiles(f Files, all bool) {
	_ = os.Remove(f.Control)
	_ = os.Remove(f.PidFile)
	if all {
		_ = os.Remove(f.Log)
		_ = os.Remove(f.Config)
		_ = os.Remove(f.State)
	}
}
