// Package storage is the storage manager's side of the toolstack: it drives
// storage plugins in the style of XenServer's SMAPIv3.
//
// A plugin is a directory holding one executable per call, named
// "<Interface>.<function>": Volume.create, Volume.destroy, Volume.resize,
// Volume.clone, Volume.snapshot, Volume.stat, Volume.ls, Datapath.attach,
// Datapath.activate, Datapath.deactivate and Datapath.detach (Functions).
// A call runs that executable with no arguments, its arguments as one JSON
// object on stdin (always with "sr", the storage repository's URI), and
// reads its reply as one JSON value on stdout. It succeeds when the
// executable exits 0 with a JSON reply. It fails with a plugin error when it
// exits non-zero with a JSON object {"code": ..., "message": ...} on stdout;
// the code is an errdefs kind name ("not_found", "exists", "busy",
// "invalid", ...), which the error wraps (any other code wraps
// errdefs.ErrUnavailable).
//
// A plugin is untrusted: each call runs in its own process group, bounded
// by a timeout (the whole group is killed and the process reaped) and an
// output cap (over it the group is killed too). A plugin that crashes,
// prints garbage or no JSON, hangs or floods gets a clear error with an
// errdefs kind, and when a call returns no process of its group is left: a
// plugin that must leave a daemon behind has to move it to a session of
// its own (setsid).
//
// Client calls one plugin for one storage repository (SR) with typed
// methods; Registry names the SRs of a host ("<sr>/<key>" references a
// volume, see ParseVDI). Install makes a plugin directory of symlinks to a
// single binary that dispatches on its name, as the shipped file plugin
// (cmd/xenactor-sm-file, package fileplugin) does.
package storage
