package dom0

// OS is what the hotplug step does to the host, behind an interface so
// that the xenstore side can be tested without loop devices or network
// interfaces. Linux is the real one.
type OS interface {
	// Device returns the device number of path when it is a block device;
	// block is false for anything else (a regular file). A missing path
	// is an error wrapping errdefs.ErrNotFound.
	Device(path string) (major, minor uint32, block bool, err error)
	// AttachLoop attaches the file path to a free loop device, read-only
	// if readOnly, and returns the device's path (/dev/loopN).
	AttachLoop(path string, readOnly bool) (string, error)
	// LoopBacking returns the file the loop device dev is attached to, ""
	// when it is free.
	LoopBacking(dev string) (string, error)
	// DetachLoop detaches the loop device dev; if it is still open it is
	// detached on its last close.
	DetachLoop(dev string) error
	// LinkExists tells whether the network interface name exists.
	LinkExists(name string) bool
	// LinkUp sets the interface up.
	LinkUp(name string) error
	// IsBridge tells whether name is a Linux bridge.
	IsBridge(name string) bool
	// SetMaster attaches the interface to the Linux bridge; already
	// attached to it is fine.
	SetMaster(link, bridge string) error
	// ClearMaster detaches the interface from its Linux bridge, if any; a
	// missing interface is fine.
	ClearMaster(link string) error
}
