package tasks

// CreateTask registers a new pending task; the reply is a CreateTaskReply.
type CreateTask struct {
	Kind    string // required, e.g. "VM.start"
	Subject string // e.g. the VM's uuid
	// Cancel is called once, inside the registry, by the first CancelTask: it
	// must return at once (a context.CancelFunc is the usual one). Nil makes
	// the task not cancellable.
	Cancel func()
	// ID, when set, is used instead of a fresh one: the daemon re-creates the
	// tasks of its state directory with it on restart. Taken ids are Exists.
	ID string
}

// CreateTaskReply answers CreateTask with the new task's id, or Err.
type CreateTaskReply struct {
	ID  string
	Err error
}

// UpdateProgress sets a pending task's progress, between 0 and 1, and, when
// Detail is not nil, replaces the task's detail with a copy of it. The reply,
// if asked for, is a TaskReply.
type UpdateProgress struct {
	ID       string
	Progress float64
	Detail   map[string]string
}

// CompleteTask ends a pending task with the operation's result. The reply, if
// asked for, is a TaskReply.
type CompleteTask struct {
	ID     string
	Result []byte
}

// FailTask ends a pending task with the operation's error, which should wrap
// an errdefs value (errdefs.ErrCanceled once cancelled). The reply, if asked
// for, is a TaskReply.
type FailTask struct {
	ID  string
	Err error
}

// CancelTask asks the operation of a pending task to stop: the registry calls
// the task's cancel function once and marks it Cancelling; the operation then
// ends the task. Cancelling a finished or non-cancellable task is Invalid; a
// second cancel is a no-op. The reply is a TaskReply.
type CancelTask struct {
	ID string
}

// GetTask asks for a snapshot of one task; the reply is a TaskReply.
type GetTask struct {
	ID string
}

// WaitTask is answered with a TaskReply once the task has finished, at once if
// it already has. The registry holds the request; it never blocks on it.
type WaitTask struct {
	ID string
}

// DestroyTask forgets a finished task; a pending one is Busy. The reply is a
// TaskReply holding the task as it was.
type DestroyTask struct {
	ID string
}

// TaskReply answers the commands on one task with the task as it is after
// the command, or Err (wrapping an errdefs value and the task's id).
type TaskReply struct {
	Task Task
	Err  error
}

// ListTasks asks for every task, or those of one Subject when set; the reply
// is a ListTasksReply.
type ListTasks struct {
	Subject string
}

// ListTasksReply answers ListTasks, oldest task first.
type ListTasksReply struct {
	Tasks []Task
}

// FailInterrupted fails every pending task with Reason, wrapping
// errdefs.ErrUnavailable: a restarted daemon sends it once it has re-adopted
// what it could (see the package doc). The reply is a FailInterruptedReply.
type FailInterrupted struct {
	Reason string
}

// FailInterruptedReply lists the tasks FailInterrupted failed.
type FailInterruptedReply struct {
	IDs []string
}

// cancelExpired is the self-message that fails a cancelled task whose
// operation did not finish it within the cancel grace.
type cancelExpired struct {
	id string
}

// forgetWaiter tells the registry that the client behind a WaitTask gave up
// (its context ended), so the held request is answered at once.
type forgetWaiter struct {
	id     string
	waiter string
}
