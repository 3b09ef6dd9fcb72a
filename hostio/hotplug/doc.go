// Package hotplug is the hotplug step of PV devices, which XenServer's
// toolstack runs itself rather than through udev: for a VBD it resolves the
// backend's params and publishes physical-device; for a VIF it attaches
// netback's interface to the bridge. Either way it ends by writing
// hotplug-status=connected in the backend directory, or hotplug-error when
// it fails. The simulated host implements it (hostio/sim), and package dom0
// on a real Linux dom0 (loop devices, netback's interfaces on Linux or
// Open vSwitch bridges).
package hotplug
