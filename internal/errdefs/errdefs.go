// Package errdefs holds the error values shared by every layer of xenactor.
//
// Backends translate their own errors into these (a xenstore ENOENT becomes
// NotFound, a quota hit becomes ResourceExhausted) and wrap them with %w and
// the ids involved, so callers test with the IsX helpers and the API edge
// converts them to RPC codes exactly once.
package errdefs

import (
	"context"
	"errors"
)

// The shared error values. Wrap them; never compare wrapped errors with ==.
var (
	ErrNotFound          = errors.New("not found")
	ErrExists            = errors.New("already exists")
	ErrBusy              = errors.New("busy")
	ErrTimeout           = errors.New("timed out")
	ErrInvalid           = errors.New("invalid argument")
	ErrUnavailable       = errors.New("unavailable")
	ErrPermission        = errors.New("permission denied")
	ErrConflict          = errors.New("conflict, try again")
	ErrResourceExhausted = errors.New("resource exhausted")
	ErrNotImplemented    = errors.New("not implemented")
	ErrCanceled          = errors.New("canceled")
)

// IsNotFound reports whether err is or wraps ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsExists reports whether err is or wraps ErrExists.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// IsBusy reports whether err is or wraps ErrBusy.
func IsBusy(err error) bool { return errors.Is(err, ErrBusy) }

// IsTimeout reports whether err is or wraps ErrTimeout or context.DeadlineExceeded.
func IsTimeout(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// IsInvalid reports whether err is or wraps ErrInvalid.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// IsUnavailable reports whether err is or wraps ErrUnavailable.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsPermission reports whether err is or wraps ErrPermission.
func IsPermission(err error) bool { return errors.Is(err, ErrPermission) }

// IsConflict reports whether err is or wraps ErrConflict.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsResourceExhausted reports whether err is or wraps ErrResourceExhausted.
func IsResourceExhausted(err error) bool { return errors.Is(err, ErrResourceExhausted) }

// IsNotImplemented reports whether err is or wraps ErrNotImplemented.
func IsNotImplemented(err error) bool { return errors.Is(err, ErrNotImplemented) }

// IsCanceled reports whether err is or wraps ErrCanceled or context.Canceled.
func IsCanceled(err error) bool {
	return errors.Is(err, ErrCanceled) || errors.Is(err, context.Canceled)
}

// kinds orders the shared values for Kind: context errors first, since
// callers wrap them together with others.
var kinds = []struct {
	name string
	err  error
	is   func(error) bool
}{
	{"canceled", ErrCanceled, IsCanceled},
	{"timeout", ErrTimeout, IsTimeout},
	{"not_found", ErrNotFound, IsNotFound},
	{"exists", ErrExists, IsExists},
	{"busy", ErrBusy, IsBusy},
	{"invalid", ErrInvalid, IsInvalid},
	{"unavailable", ErrUnavailable, IsUnavailable},
	{"permission", ErrPermission, IsPermission},
	{"conflict", ErrConflict, IsConflict},
	{"resource_exhausted", ErrResourceExhausted, IsResourceExhausted},
	{"not_implemented", ErrNotImplemented, IsNotImplemented},
}

// Kind names the shared value err wraps ("not_found", "resource_exhausted",
// ...), for API error codes and metric labels; "" when it wraps none.
func Kind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range kinds {
		if k.is(err) {
			return k.name
		}
	}
	return ""
}

// FromKind returns the shared value Kind names name, nil for an unknown name.
func FromKind(name string) error {
	for _, k := range kinds {
		if k.name == name {
			return k.err
		}
	}
	return nil
}
