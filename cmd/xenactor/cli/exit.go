package cli

import (
	"errors"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The exit codes of xenactor (docs/cli.md).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitTaskFailed  = 4
	ExitPermission  = 5
	ExitUnavailable = 6
	ExitTimeout     = 7
	ExitBusy        = 8
	ExitInvalid     = 9
	ExitCanceled    = 10
)

// errNoConnect is the error of a tree built without Options.Connect.
var errNoConnect = fmt.Errorf("%w: no way to connect to the daemon", errdefs.ErrUnavailable)

// usageError is a command line the commands cannot run: a wrong flag, a
// missing argument, a value that does not parse, an ambiguous VM name.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as a usage error.
func usage(err error) error { return &usageError{err: err} }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error { return usage(fmt.Errorf(format, args...)) }

// taskError is the failure of the task an operation waited for.
type taskError struct {
	id  string
	err error
}

func (e *taskError) Error() string { return fmt.Sprintf("task %s failed: %v", e.id, e.err) }
func (e *taskError) Unwrap() error { return e.err }

// ExitCode returns the exit code for the error a command returned: 0 for
// nil, ExitUsage for a command line that does not parse, ExitTaskFailed for
// an operation whose task failed, else the code of the errdefs kind the
// error wraps (client errors unwrap to their kind), ExitFailure for none.
func ExitCode(err error) int {
	var ue *usageError
	var te *taskError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &te):
		return ExitTaskFailed
	}
	switch errdefs.Kind(err) {
	case "canceled":
		return ExitCanceled
	case "timeout":
		return ExitTimeout
	case "not_found":
		return ExitNotFound
	case "permission":
		return ExitPermission
	case "unavailable":
		return ExitUnavailable
	case "busy", "conflict", "exists", "resource_exhausted":
		return ExitBusy
	case "invalid":
		return ExitInvalid
	}
	return ExitFailure
}
