// Package rlimit raises the process limits a host daemon with thousands of
// VMs needs: its open files (RLIMIT_NOFILE) grow with the VMs it serves.
package rlimit

import (
	"fmt"
	"syscall"
)

// NoFile is a process's limit of open files.
type NoFile struct {
	// Before is the soft limit found; Soft the soft limit after Raise;
	// Hard the hard limit, which an unprivileged process cannot raise.
	Before, Soft, Hard uint64
}

// RaiseNoFile raises the soft limit of open files to the hard limit and
// returns the limits. Go's runtime already does so at start on Linux (and
// restores the soft limit for the processes it starts), so Before often
// equals Hard: the call makes the limit explicit, for the daemon's log.
func RaiseNoFile() (NoFile, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return NoFile{}, fmt.Errorf("rlimit: reading RLIMIT_NOFILE: %w", err)
	}
	n := NoFile{Before: l.Cur, Soft: l.Cur, Hard: l.Max}
	if l.Cur >= l.Max {
		return n, nil
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return n, fmt.Errorf("rlimit: raising RLIMIT_NOFILE from %d to %d: %w", n.Before, l.Max, err)
	}
	n.Soft = l.Max
	return n, nil
}
