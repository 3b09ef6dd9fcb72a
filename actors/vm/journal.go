package vm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Record is what a VM actor persists about its VM, so that a daemon started
// again, or the actor restarted by its supervisor, takes over where it was.
type Record struct {
	// Spec is the VM's spec with the devices hot-plugged since it was added.
	Spec Spec `json:"spec"`
	// DomID is the VM's domain once the operation that made it succeeded (a
	// start, a reboot, a restart by check state); 0 when it has none.
	DomID hypervisor.DomID `json:"domid,omitempty"`
	// Creating is a domain an operation created and has not finished
	// setting up: a VM actor restarted by its supervisor destroys it. It is
	// kept in memory only (saving it would cost a disk write per start): a
	// daemon started again finds such domains by their uuid instead, as
	// every domain of the VM's uuid other than DomID is a stray.
	Creating hypervisor.DomID `json:"creating,omitempty"`
	// Op is the command whose operation was running when the record was
	// written: after a crash its task is failed as interrupted.
	Op *RecordedOp `json:"op,omitempty"`
	// SuspendImage is the image file of a Suspended VM.
	SuspendImage string `json:"suspend_image,omitempty"`
}

// RecordedOp is the command in flight of a Record.
type RecordedOp struct {
	TaskID  string    `json:"task_id"`
	Kind    string    `json:"kind"`
	Started time.Time `json:"started"`
}

// clone returns a copy of r that shares nothing mutable with it.
func (r Record) clone() Record {
	r.Spec.VBDs, r.Spec.VIFs = slices.Clone(r.Spec.VBDs), slices.Clone(r.Spec.VIFs)
	if r.Op != nil {
		op := *r.Op
		r.Op = &op
	}
	return r
}

// SaveFunc writes a Record durably; a Journal calls it with every change.
type SaveFunc func(ctx context.Context, rec Record) error

// Journal holds the Record of one VM and writes each change through its
// SaveFunc before the change counts. It outlives the VM actor's
// incarnations: one restarted by its supervisor starts from the journal's
// record, not from the config it was first spawned with. A Journal is safe
// for concurrent use; changes are saved in the order they are made.
type Journal struct {
	mu     sync.Mutex
	rec    Record
	save   SaveFunc
	closed bool

	// opsMu guards ops and idle: the operation goroutines of every
	// incarnation that still run, and a channel closed when the last ends.
	opsMu sync.Mutex
	ops   int
	idle  chan struct{}
}

// opBegin counts an operation goroutine that is about to run.
func (j *Journal) opBegin() {
	j.opsMu.Lock()
	defer j.opsMu.Unlock()
	if j.ops == 0 {
		j.idle = make(chan struct{})
	}
	j.ops++
}

// opEnd counts the end of an operation goroutine, after its journalEnd.
func (j *Journal) opEnd() {
	j.opsMu.Lock()
	defer j.opsMu.Unlock()
	j.ops--
	if j.ops == 0 {
		close(j.idle)
		j.idle = nil
	}
}

// Busy reports whether an operation of the VM, of any of its actor's
// incarnations, still runs: the VM may be about to get a domain even while
// its status reads Halted, so it must not be removed.
func (j *Journal) Busy() bool {
	j.opsMu.Lock()
	defer j.opsMu.Unlock()
	return j.ops > 0
}

// Idle returns a channel closed once no operation of the VM runs (at once
// when none runs now).
func (j *Journal) Idle() <-chan struct{} {
	if idle := j.opsIdle(); idle != nil {
		return idle
	}
	done := make(chan struct{})
	close(done)
	return done
}

// opsIdle returns a channel closed once no operation goroutine runs, nil
// when none runs now. A restarted VM actor waits on it before it reads the
// record: the goroutine of an operation of its previous incarnation may
// still create (or finish setting up) a domain and record it.
func (j *Journal) opsIdle() <-chan struct{} {
	j.opsMu.Lock()
	defer j.opsMu.Unlock()
	return j.idle
}

// NewJournal returns a journal holding rec, which save already holds.
func NewJournal(rec Record, save SaveFunc) *Journal {
	return &Journal{rec: rec.clone(), save: save}
}

// Record returns a copy of the current record.
func (j *Journal) Record() Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec.clone()
}

// Close stops the journal: later changes are kept in memory and not saved,
// so a record deleted by the caller stays deleted.
func (j *Journal) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
}

// update applies change to a copy of the record and saves it; the record
// changes only when the save succeeded. An unchanged record is not saved.
func (j *Journal) update(ctx context.Context, change func(*Record)) error {
	return j.apply(ctx, change, true)
}

// remember applies change to the record without saving it.
func (j *Journal) remember(change func(*Record)) {
	_ = j.apply(context.Background(), change, false)
}

func (j *Journal) apply(ctx context.Context, change func(*Record), save bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec := j.rec.clone()
	change(&rec)
	if recordEqual(rec, j.rec) {
		return nil
	}
	if save && !j.closed && j.save != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), journalTimeout)
		defer cancel()
		if err := j.save(sctx, rec); err != nil {
			return fmt.Errorf("vm %s: persist the VM's record: %w: %w", rec.Spec.UUID, errdefs.ErrUnavailable, err)
		}
	}
	j.rec = rec
	return nil
}

// journalTimeout bounds one save.
const journalTimeout = 10 * time.Second

func recordEqual(a, b Record) bool {
	if a.DomID != b.DomID || a.Creating != b.Creating || a.SuspendImage != b.SuspendImage || (a.Op == nil) != (b.Op == nil) ||
		(a.Op != nil && *a.Op != *b.Op) {
		return false
	}
	return slices.Equal(a.Spec.VBDs, b.Spec.VBDs) && slices.Equal(a.Spec.VIFs, b.Spec.VIFs) &&
		a.Spec.UUID == b.Spec.UUID
}

// journalBegin records the command op as running, before its first atom.
func (r *runner) journalBegin(ctx context.Context, op *operation) error {
	if r.cfg.Journal == nil || op.internal {
		return nil
	}
	return r.cfg.Journal.update(ctx, func(rec *Record) {
		rec.Op = &RecordedOp{TaskID: op.taskID, Kind: op.kind, Started: time.Now().UTC()}
	})
}

// journalCreating records domid as made and not set up yet, at once after
// the domain's creation, before anything else is done to it (in memory
// only: see Record.Creating).
func (r *runner) journalCreating(domid hypervisor.DomID) {
	r.made = domid
	if r.cfg.Journal != nil {
		r.cfg.Journal.remember(func(rec *Record) { rec.Creating = domid })
	}
}

// journalEnd records the outcome of an operation: its domain, if it has
// one, the spec's device lists and no command in flight. A failed save is
// added to done's error.
func (r *runner) journalEnd(ctx context.Context, done *opDone) {
	if r.cfg.Journal == nil {
		return
	}
	domid := r.domid
	if r.made != 0 {
		domid = r.made
	}
	err := r.cfg.Journal.update(ctx, func(rec *Record) {
		rec.Op, rec.Creating, rec.DomID = nil, 0, 0
		if done.hasDomain {
			rec.DomID = domid
		}
		if done.spec != nil {
			rec.Spec.VBDs, rec.Spec.VIFs = slices.Clone(done.spec.VBDs), slices.Clone(done.spec.VIFs)
		}
		if done.image != nil {
			rec.SuspendImage = *done.image
		}
	})
	if err != nil {
		if done.err == nil {
			done.err = err
		} else {
			done.err = fmt.Errorf("%w (and %v)", done.err, err)
		}
	}
}
