// Package xenbus holds what the toolstack and the dom0 backends agree on
// about PV devices in xenstore: the XenBus states
// (xen/include/public/io/xenbus.h), where a device's backend and frontend
// directories are, and the trees the toolstack writes to plug one, with
// the reference's keys and permissions.
package xenbus
