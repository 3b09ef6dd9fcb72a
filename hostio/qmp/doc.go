// Package qmp is a client of QEMU's machine protocol (QMP): JSON messages,
// one a line, on a Unix socket.
//
// Dial connects, reads the greeting (QEMU's version and capabilities) and
// negotiates with qmp_capabilities. Execute and Run send commands; many
// goroutines may do so at once: each command carries an id, so that the
// replies, which QEMU sends in order, reach their callers even when one
// gave up (its ctx ended) before its reply came. An error reply is an
// *Error carrying QMP's class and description, and wraps the errdefs kind
// that fits the class (CommandNotFound is ErrNotImplemented,
// DeviceNotFound ErrNotFound, GenericError ErrInvalid, ...).
//
// Asynchronous events (STOP, RESUME, SHUTDOWN, DEVICE_DELETED, ...) arrive
// on Events, a channel of bounded capacity (WithEventBuffer). The reader
// never blocks on it, since a blocked reader would hold the replies of
// every command back: when it is full the oldest event is dropped and
// counted (Dropped). Memory is thus bounded whatever the peer sends, and a
// reader that falls behind sees the newest events.
//
// A lost connection (QEMU exited, or sent what is not QMP) closes Done;
// Err says why, every command in flight fails with it (ErrUnavailable, or
// ErrInvalid for a peer that broke the protocol) and Events is closed.
package qmp
