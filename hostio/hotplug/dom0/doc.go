// Package dom0 is the hotplug step of PV devices on a real Linux dom0,
// run by the toolstack itself as XenServer does rather than by udev
// scripts (hostio/hotplug).
//
// For a VBD whose params is a file it attaches the file to a free loop
// device (read-only for mode r), for a block device it takes the device
// itself, and it publishes physical-device as "<major>:<minor>" in hex,
// which xen-blkback parses, with physical-device-path naming the device;
// the loop device it attached is recorded (the backend's node, and the
// device's private directory, which outlives the backend tree) so that
// Remove detaches it, and only it. For a VIF it waits for netback's
// interface vif<domid>.<devid>, sets it up and attaches it to the
// backend's bridge (DefaultBridge when none): a Linux bridge, or a port of
// the host's Open vSwitch tagged with the VM's, the VIF's and the
// network's ids. Either way it ends with hotplug-status=connected, or
// hotplug-error=<message> on failure.
//
// What it does to the host goes through OS, whose Linux implementation
// uses ioctls (loop devices, interface flags, bridge ports) and sysfs.
package dom0
