package xenbus

import (
	"strconv"
	"strings"
)

// State is a XenBus device state.
type State int

// The XenBus states.
const (
	StateUnknown       State = 0
	StateInitialising  State = 1
	StateInitWait      State = 2
	StateInitialised   State = 3
	StateConnected     State = 4
	StateClosing       State = 5
	StateClosed        State = 6
	StateReconfiguring State = 7
	StateReconfigured  State = 8
)

var stateNames = [...]string{"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
	"Closing", "Closed", "Reconfiguring", "Reconfigured"}

// String returns the state's name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Value is the state as written to xenstore.
func (s State) Value() []byte { return []byte(strconv.Itoa(int(s))) }

// ParseState parses a state node's value; ok is false for anything but a
// known state (a hostile guest may write junk there).
func ParseState(v string) (State, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimRight(v, "\x00")))
	if err != nil || n < 0 || n > int(StateReconfigured) {
		return StateUnknown, false
	}
	return State(n), true
}
