package xen

import (
	"context"
	"log/slog"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Config sets up the backend.
type Config struct {
	// Xenstore dials the host's xenstored (dom0, privileged). Events use it
	// to watch @releaseDomain and @introduceDomain when VIRQ_DOM_EXC is held
	// by xenstored (as the C xenstored does). Required.
	Xenstore func(context.Context) (*xenstore.Client, error)
	// Logger receives the backend's log; nil discards.
	Logger *slog.Logger
}

// HostInfo is what the host has (xc_physinfo and xc_version).
type HostInfo struct {
	// TotalKiB and FreeKiB are the host's memory and what no domain holds.
	TotalKiB, FreeKiB uint64
	// CPUs is the number of physical CPUs Xen runs on.
	CPUs int
	// Version is Xen's version, such as "4.17.3".
	Version string
}
