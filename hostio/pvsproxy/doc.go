// Package pvsproxy is the toolstack's side of PVS-Accelerator's proxy
// (pvsproxy), a caching proxy for network-booted guests, and a stand-in
// for the proxy daemon itself.
//
// For a VIF with PVS settings the toolstack writes the reference's keys
// in the VIF's private xenstore directory (/xapi/<domid>/private/vif/
// <devid>: pvs-site, pvs-interface, pvs-server-num, pvs-server-<n>-
// addresses, pvs-server-<n>-ports) and installs OpenFlow rules on the
// VIF's bridge that steer the VIF's traffic with the PVS servers to the
// proxy's port (Rules), under a cookie of the VIF (Cookie) so that they
// are removed with it.
//
// Main is the stand-in proxy daemon (xenactor-pvsproxy): it follows the
// private directories in xenstore and reports the VIFs it serves on a
// control socket (Query).
package pvsproxy
