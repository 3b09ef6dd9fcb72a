// Package statedir persists the toolstack's metadata (VMs, tasks, the
// daemon's own record) as files in a state directory, so a restarted
// xenactord re-adopts the domains it manages and finishes or fails the
// tasks that were in flight, and never touches domains it does not manage.
//
// # Layout
//
// A Store owns one directory. Records are kept per kind ("vm", "task",
// "daemon", ...) and id, one JSON file each:
//
//	<dir>/.lock               flock(2)ed by the Store; holds the holder's pid
//	<dir>/<kind>/<id>.json    one record
//	<dir>/<kind>/<id>.json.corrupt-<time>   a record Load moved aside
//
// Kinds and ids are names of 1 to MaxNameLen characters from [A-Za-z0-9._-]
// that neither start with "." nor contain ".."; anything else is rejected
// with errdefs.ErrInvalid before the file system is touched.
//
// Each file is a versioned envelope around the caller's value:
//
//	{"version":1,"kind":"vm","id":"<uuid>","updated":"<RFC 3339>","data":{...}}
//
// # Durability and crashes
//
// Put writes a temporary file in the record's own directory, fsyncs it,
// renames it over the record and fsyncs the directory, so after a crash a
// record holds either its old or its new value, never a mix. Temporary files
// left by a crash mid-write are removed by Open. A record that is damaged
// anyway (truncated, not JSON, naming another kind or id, or written by a
// newer schema) is moved aside by Load, reported in Load's error and skipped;
// the other records still load.
//
// # Exclusion
//
// Open takes an exclusive flock on <dir>/.lock, so two daemons never share a
// state directory: a second Open, from this process or another, fails with
// errdefs.ErrBusy naming the holder's pid. The kernel drops the lock when
// the holder exits, however it exits.
//
// # Schema versions and migrations
//
// Every record carries the schema version of the Store that wrote it:
// Version unless Open was given WithVersion. Migrations are the caller's:
// when a record's schema changes incompatibly, the caller raises the version
// it opens the store with and passes WithMigrate a function that turns data
// of an older version into the current one. Get and Load run it on older
// records before handing them over; the file is rewritten in the current
// version by the caller's next Put. Without WithMigrate older records are
// handed over unchanged, which suits compatible changes such as an added
// field. Records newer than the store's version are never guessed at: Get
// fails and Load quarantines them.
//
// # Concurrency
//
// A Store is safe for concurrent use. Operations on one record are
// serialised by a per-record lock; operations on different records run in
// parallel, so one VM's fsync does not wait for another's.
package statedir
