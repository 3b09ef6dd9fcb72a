// Package xenstore speaks the xenstore wire protocol (xen/include/public/io/xs_wire.h).
//
// It holds the codec (message framing, op codes, error names, path and
// permission syntax) shared by the project's xenstored (package
// xenstore/xenstored) and by the client in this package. The client
// multiplexes one connection among many goroutines by req_id, delivers watch
// events on channels while requests are in flight, and maps xenstore error
// names onto internal/errdefs values.
package xenstore
