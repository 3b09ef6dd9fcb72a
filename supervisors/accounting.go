package supervisors

import (
	"cmp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Action is what a supervisor did about one failure.
type Action string

// The actions a Strategy records.
const (
	ActionRestart  Action = "restart"  // restarted, after the backoff delay
	ActionStop     Action = "stop"     // stopped: the decider chose Stop
	ActionGiveUp   Action = "give_up"  // stopped: too many restarts within the window, or nowhere to escalate
	ActionEscalate Action = "escalate" // handed to the supervisor's own parent
	ActionResume   Action = "resume"   // resumed with its state kept (only an overriding Decider chooses this)
)

// Key identifies a row of the accounting: an actor family and a reason kind
// (see Kind).
type Key struct {
	Family string
	Reason string
}

// RestartRecord is the accounting of one Key: how many failures, what was
// done about them, and the latest one.
type RestartRecord struct {
	Key
	Failures    int // every failure, whatever was done about it
	Restarts    int
	Stops       int
	GiveUps     int
	Escalations int
	Resumes     int

	LastText   string // the latest reason, as text, cut to maxReasonText bytes
	LastChild  string // the latest failing actor's PID id
	LastAction Action
	LastDelay  time.Duration // the latest restart's backoff delay
	LastAt     time.Time
}

// maxReasonText bounds RestartRecord.LastText.
const maxReasonText = 256

// failure is one failure as a Strategy records it.
type failure struct {
	key    Key
	child  string
	text   string
	action Action
	delay  time.Duration
	at     time.Time
}

// Accounting counts failures by family and reason kind. It is safe for
// concurrent use; one Accounting may be shared by many strategies. The zero
// value is ready to use. It holds no protoactor types, so a metrics
// collector reads it without importing protoactor.
type Accounting struct {
	mu   sync.Mutex
	rows map[Key]*RestartRecord
}

// NewAccounting returns an empty Accounting.
func NewAccounting() *Accounting { return &Accounting{} }

// record adds one failure.
func (a *Accounting) record(f failure) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rows == nil {
		a.rows = make(map[Key]*RestartRecord)
	}
	row := a.rows[f.key]
	if row == nil {
		row = &RestartRecord{Key: f.key}
		a.rows[f.key] = row
	}
	row.Failures++
	switch f.action {
	case ActionRestart:
		row.Restarts++
		row.LastDelay = f.delay
	case ActionStop:
		row.Stops++
	case ActionGiveUp:
		row.GiveUps++
	case ActionEscalate:
		row.Escalations++
	case ActionResume:
		row.Resumes++
	}
	row.LastText = truncate(f.text, maxReasonText)
	row.LastChild = f.child
	row.LastAction = f.action
	row.LastAt = f.at
}

// Snapshot returns a copy of every row, sorted by family then reason.
func (a *Accounting) Snapshot() []RestartRecord {
	a.mu.Lock()
	out := make([]RestartRecord, 0, len(a.rows))
	for _, row := range a.rows {
		out = append(out, *row)
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y RestartRecord) int {
		return cmp.Or(cmp.Compare(x.Family, y.Family), cmp.Compare(x.Reason, y.Reason))
	})
	return out
}

// Counts returns the number of failures per family and reason kind,
// whatever was done about them; RestartRecord breaks them down by action.
func (a *Accounting) Counts() map[Key]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[Key]int, len(a.rows))
	for k, row := range a.rows {
		out[k] = row.Failures
	}
	return out
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
