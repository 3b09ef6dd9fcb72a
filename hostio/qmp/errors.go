package qmp

import (
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Error is an error reply of QEMU to a command.
type Error struct {
	// Command is the command that failed.
	Command string
	// Class is QMP's error class: GenericError, CommandNotFound,
	// DeviceNotActive, DeviceNotFound or KVMMissingCap.
	Class string
	// Desc is QEMU's description of the error.
	Desc string
}

// Error describes the reply.
func (e *Error) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// Unwrap returns the errdefs kind of the class.
func (e *Error) Unwrap() error { return classKind(e.Class) }

// classKind maps a QMP error class to the errdefs kind that fits it.
func classKind(class string) error {
	switch class {
	case "CommandNotFound", "KVMMissingCap":
		return errdefs.ErrNotImplemented
	case "DeviceNotFound":
		return errdefs.ErrNotFound
	case "DeviceNotActive":
		return errdefs.ErrInvalid
	case "GenericError":
		// Mostly bad arguments or a state that refuses the command.
		return errdefs.ErrInvalid
	}
	return errdefs.ErrUnavailable
}
