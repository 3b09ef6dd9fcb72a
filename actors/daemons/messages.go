package daemons

import "github.com/xenactor/xenactor/hostio/process"

// State is where a daemon is in its life.
type State string

// The states of a daemon.
const (
	StateStarting State = "starting" // being started or adopted, or waiting to be ready
	StateRunning  State = "running"  // ready, and healthy at the last probe
	StateBackoff  State = "backoff"  // failed; restarted when the backoff delay ends
	StateFailed   State = "failed"   // failed too often; given up on until a Reset
	StateStopped  State = "stopped"  // the actor stopped (the process too, unless detached)
)

// Status is a daemon's state as its actor sees it.
type Status struct {
	Name     string // the daemon's Spec.Name
	State    State
	Pid      int   // the current process; 0 when there is none
	Adopted  bool  // the current process was adopted from its pid file
	Restarts int   // restarts after failures since the actor started
	LastErr  error // the last failure; nil if none
}

// GetStatus asks the daemon's actor for its Status; it answers *Status.
type GetStatus struct{}

// Detach makes the actor leave its process running when it stops, for the
// next xenactord to adopt. It answers *Detached; stop the actor afterwards.
type Detach struct{}

// Detached answers Detach.
type Detached struct{}

// Reset makes a daemon that was given up on (StateFailed) start again, with
// its failure count cleared. It is ignored in other states.
type Reset struct{}

// launched reports the end of a launch: a process started or adopted and
// ready, or the failure.
type launched struct {
	op      *launchOp
	proc    *process.Proc // nil when none could be started
	adopted bool
	err     error // start or readiness failure
}

// exited reports that proc has exited.
type exited struct {
	proc *process.Proc
	err  error
}

// restartDue ends the backoff numbered seq.
type restartDue struct{ seq int }

// healthDue starts the health probe numbered seq.
type healthDue struct{ seq int }

// healthDone reports the health probe of proc.
type healthDone struct {
	proc *process.Proc
	err  error
}
