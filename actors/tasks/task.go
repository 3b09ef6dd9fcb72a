package tasks

import (
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// State is where a task is in its life.
type State int

// The states of a task. A cancelled task ends Failed.
const (
	Pending State = iota
	Completed
	Failed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Completed:
		return "completed"
	case Failed:
		return "failed"
	default:
		return "unknown"
	}
}

// Task is a snapshot of one task. Result is shared with the registry: read it,
// never modify it.
type Task struct {
	ID      string
	Kind    string // the operation, e.g. "VM.start"
	Subject string // what it acts on, e.g. a VM's uuid
	State   State
	// Progress goes from 0 to 1 while the task is pending; it is 1 once the
	// task completed.
	Progress float64
	// Detail describes a pending operation's progress beyond the fraction,
	// as the operation last reported it (UpdateProgress): a migration's
	// bytes_sent, iteration, dirty_pages_per_second and
	// estimated_downtime_ms, say. Nil for none; never modified in place.
	Detail map[string]string
	// Result is the operation's opaque result (often JSON) once Completed.
	Result []byte
	// Error is the failure's message once Failed; ErrorKind names the
	// errdefs value it wraps (errdefs.Kind: "canceled", "not_found", ...), "" for none.
	Error     string
	ErrorKind string
	// Cancelling is set once a cancel was requested.
	Cancelling bool
	Created    time.Time
	Finished   time.Time // zero while pending
	Duration   time.Duration
}

// Done reports whether the task has ended, completed or failed.
func (t Task) Done() bool { return t.State != Pending }

// Err returns the task's failure as an error that wraps the errdefs value
// named by ErrorKind, so errdefs.IsCanceled and the like work on it; nil
// unless the task failed.
func (t Task) Err() error {
	if t.State != Failed {
		return nil
	}
	return &failure{msg: t.Error, kind: errdefs.FromKind(t.ErrorKind)}
}

// failure is a task's error rebuilt from its snapshot.
type failure struct {
	msg  string
	kind error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.kind }
