package xenstore

import (
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Errno is the error name carried in an ERROR reply ("ENOENT").
type Errno string

// The error names of xs_wire.h, in its order, plus oxenstored's EQUOTA.
const (
	EINVAL    Errno = "EINVAL"
	EACCES    Errno = "EACCES"
	EEXIST    Errno = "EEXIST"
	EISDIR    Errno = "EISDIR"
	ENOENT    Errno = "ENOENT"
	ENOMEM    Errno = "ENOMEM"
	ENOSPC    Errno = "ENOSPC"
	EIO       Errno = "EIO"
	ENOTEMPTY Errno = "ENOTEMPTY"
	ENOSYS    Errno = "ENOSYS"
	EROFS     Errno = "EROFS"
	EBUSY     Errno = "EBUSY"
	EAGAIN    Errno = "EAGAIN"
	EISCONN   Errno = "EISCONN"
	E2BIG     Errno = "E2BIG"
	EPERM     Errno = "EPERM"
	EQUOTA    Errno = "EQUOTA"
)

// Errnos lists the names of xs_wire.h's xsd_errors table, in order.
var Errnos = []Errno{EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO,
	ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM}

// Error implements error.
func (e Errno) Error() string { return string(e) }

// Payload is the ERROR reply payload for e.
func (e Errno) Payload() []byte { return append([]byte(e), 0) }

// Kind returns the errdefs value e maps onto, or nil for a name it does not know.
func (e Errno) Kind() error {
	switch e {
	case ENOENT:
		return errdefs.ErrNotFound
	case EEXIST, EISCONN:
		return errdefs.ErrExists
	case EACCES, EPERM, EROFS:
		return errdefs.ErrPermission
	case EINVAL, EISDIR, ENOTEMPTY:
		return errdefs.ErrInvalid
	case EAGAIN:
		return errdefs.ErrConflict
	case ENOSPC, EQUOTA, ENOMEM, E2BIG:
		return errdefs.ErrResourceExhausted
	case EBUSY:
		return errdefs.ErrBusy
	case ENOSYS:
		return errdefs.ErrNotImplemented
	case EIO:
		return errdefs.ErrUnavailable
	}
	return nil
}

// IsQuota reports whether e is one of the names daemons use for a quota hit:
// ENOSPC (C xenstored), EQUOTA (oxenstored) or E2BIG (older C xenstored).
func (e Errno) IsQuota() bool { return e == ENOSPC || e == EQUOTA || e == E2BIG }

// Error is a failed xenstore request: the op, the path or argument it was
// about, and the daemon's error name. It unwraps to the errdefs value of the
// name, so errdefs.IsNotFound(err) works on it.
type Error struct {
	Op    Op
	Path  string
	Errno Errno
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("xenstore %s: %s", e.Op, e.Errno)
	}
	return fmt.Sprintf("xenstore %s %s: %s", e.Op, e.Path, e.Errno)
}

// Unwrap returns the Errno and the errdefs value it maps onto.
func (e *Error) Unwrap() []error {
	if k := e.Errno.Kind(); k != nil {
		return []error{e.Errno, k}
	}
	return []error{e.Errno}
}
