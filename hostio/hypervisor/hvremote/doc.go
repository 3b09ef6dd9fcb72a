// Package hvremote carries the hypervisor interface (hypervisor.Hypervisor)
// and the hotplug step (hotplug.Hotplug) over a Unix socket, as a real
// host's privcmd device carries hypercalls: a simulated host running in its
// own process (cmd/xenactor-simhost) outlives the daemon that drives it, so
// a restarted daemon finds its domains again.
//
// The wire is one request at a time per connection. The client sends a
// JSON header line naming the method and its arguments; the server answers
// with a JSON reply line holding the result or an error with its errdefs
// kind, so errdefs.IsNotFound and the others still hold on the client side.
// Save and ReadPages stream the image from the server to the client, and
// Restore from the client to the server, as length-prefixed frames ending
// with an empty frame. Events keeps its connection: after the reply line the
// server writes one byte per coalesced signal until either side closes.
//
// The client keeps a small pool of idle connections for the short calls; a
// call whose context ends closes its connection.
package hvremote
