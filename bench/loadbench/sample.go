package loadbench

import (
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// maxMessages caps the error messages a Result keeps.
const maxMessages = 5

// Point is one successful operation.
type Point struct {
	// At is when it ended (Unix nanoseconds); Latency what it took.
	At      int64
	Latency time.Duration
	// Running is the number of VMs running when it began, as the client
	// counted them (a start's x in the start-latency plot).
	Running int `json:",omitempty"`
}

// Result is what a job measured in one worker.
type Result struct {
	// Points are the successful operations by kind (Op*).
	Points map[string][]Point `json:",omitempty"`
	// Errors counts the failed operations by "<op>: <errdefs kind>";
	// Messages holds the first few.
	Errors   map[string]int `json:",omitempty"`
	Messages []string       `json:",omitempty"`
	// Elapsed is the job's time.
	Elapsed time.Duration
	// Events and Batches count the update stream's ids and batches the
	// job followed (guests).
	Events  int `json:",omitempty"`
	Batches int `json:",omitempty"`
	// Running is the VMs the job left running (setup).
	Running int `json:",omitempty"`
	// Error is set when the job could not run at all.
	Error string `json:",omitempty"`
}

// recorder collects a job's Result from its goroutines.
type recorder struct {
	mu      sync.Mutex
	r       Result
	running int
	ops     int
	errs    int
}

func (rc *recorder) ok(op string, t0 time.Time, running int) {
	now := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.r.Points == nil {
		rc.r.Points = make(map[string][]Point)
	}
	rc.r.Points[op] = append(rc.r.Points[op], Point{At: now.UnixNano(), Latency: now.Sub(t0), Running: running})
	rc.ops++
}

func (rc *recorder) fail(op string, err error) {
	kind := errdefs.Kind(err)
	if kind == "" {
		kind = "other"
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.r.Errors == nil {
		rc.r.Errors = make(map[string]int)
	}
	rc.r.Errors[op+": "+kind]++
	if len(rc.r.Messages) < maxMessages {
		rc.r.Messages = append(rc.r.Messages, op+": "+err.Error())
	}
	rc.errs++
}

// addRunning adds n to the running VMs and returns the count before.
func (rc *recorder) addRunning(n int) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	before := rc.running
	rc.running += n
	return before
}

// progress returns the operations done, failed, and the running VMs.
func (rc *recorder) progress() Progress {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return Progress{Ops: rc.ops, Errors: rc.errs, Running: rc.running}
}

// Progress is a worker's running count of a job.
type Progress struct {
	Ops, Errors, Running int
}
