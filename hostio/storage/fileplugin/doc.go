// Package fileplugin is the shipped "file" storage plugin: it keeps each
// volume of an SR as a sparse file in the SR's directory, and speaks the
// plugin protocol of package storage (cmd/xenactor-sm-file is its binary).
//
// An SR is a directory, named by the URI "file:///path" or the bare path.
// Each volume, keyed by a random uuid, is:
//
//	<key>.img     the data, a sparse file of the volume's virtual size
//	<key>.json    its metadata (name, description, read-write, size); its
//	              presence is what makes the volume exist
//	<key>.attach  its datapath state while attached: the domain, active
//	<key>.lock    the lock every call on the volume holds (flock), so calls
//	              from concurrent processes on one volume run one at a time
//
// Volume.create makes a sparse file; Volume.resize grows it (a shrink is
// refused, errdefs.ErrInvalid); Volume.clone and Volume.snapshot copy it,
// only its data extents (SEEK_DATA/SEEK_HOLE), the snapshot read-only;
// Volume.destroy refuses an attached volume (errdefs.ErrBusy).
// Datapath.attach returns the image's path as blkback's params and records
// the domain: attaching again is errdefs.ErrExists for the same domain and
// errdefs.ErrBusy for another. Activate, deactivate and detach must name
// the domain it is attached for (else errdefs.ErrNotFound); activate twice
// is ErrExists, deactivate of an inactive volume ErrNotFound, detach of an
// active one ErrBusy. Volume.stat and Volume.ls show the datapath state in
// Volume.Keys (storage.KeyAttachedDomain, storage.KeyActive).
package fileplugin
