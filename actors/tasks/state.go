package tasks

import (
	"cmp"
	"container/list"
	"fmt"
	"slices"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultMaxFinished is how many finished tasks the registry keeps unless
// WithMaxFinished says otherwise.
const DefaultMaxFinished = 10_000

// ObjectID returns the update-stream id of task id, "task/<id>".
func ObjectID(id string) string { return "task/" + id }

// record is a task and what the registry keeps beside it.
type record struct {
	task       Task
	seq        uint64               // creation order
	cancel     func()               // nil once called, or when not cancellable
	waiters    []*actor.PID         // WaitTask requests to answer when it ends
	stopGrace  scheduler.CancelFunc // the cancel grace timer, while it runs
	inFinished *list.Element        // its place in table.finished once done
}

// table holds every task, pending or finished, and the finished ones in the
// order they finished so the oldest can go first.
type table struct {
	seq         uint64 // the last creation number handed out
	byID        map[string]*record
	finished    *list.List // *record, oldest finished at the front
	maxFinished int
}

func newTable(maxFinished int) *table {
	return &table{
		byID:        make(map[string]*record),
		finished:    list.New(),
		maxFinished: maxFinished,
	}
}

// add registers a new task under id, or under a fresh "task-<n>" when id is
// empty.
func (t *table) add(id string, task Task) (*record, error) {
	t.seq++
	if id == "" {
		for n := t.seq; ; n++ {
			id = "task-" + strconv.FormatUint(n, 10)
			if _, taken := t.byID[id]; !taken {
				break
			}
		}
	} else if _, taken := t.byID[id]; taken {
		return nil, fmt.Errorf("task %s: %w", id, errdefs.ErrExists)
	}
	task.ID = id
	rec := &record{task: task, seq: t.seq}
	t.byID[id] = rec
	return rec, nil
}

// get returns the task id, NotFound if there is none.
func (t *table) get(id string) (*record, error) {
	rec, ok := t.byID[id]
	if !ok {
		return nil, fmt.Errorf("task %s: %w", id, errdefs.ErrNotFound)
	}
	return rec, nil
}

// pending returns the task id if it is still pending, Invalid if it finished.
func (t *table) pending(id string) (*record, error) {
	rec, err := t.get(id)
	if err != nil {
		return nil, err
	}
	if rec.task.Done() {
		return nil, fmt.Errorf("task %s already %s: %w", id, rec.task.State, errdefs.ErrInvalid)
	}
	return rec, nil
}

// markFinished notes that rec has just finished and returns the oldest finished
// tasks it destroyed to stay within the bound.
func (t *table) markFinished(rec *record) []*record {
	rec.inFinished = t.finished.PushBack(rec)
	var evicted []*record
	for t.finished.Len() > t.maxFinished {
		oldest := t.finished.Front().Value.(*record)
		t.remove(oldest)
		evicted = append(evicted, oldest)
	}
	return evicted
}

// remove forgets rec.
func (t *table) remove(rec *record) {
	if rec.inFinished != nil {
		t.finished.Remove(rec.inFinished)
		rec.inFinished = nil
	}
	delete(t.byID, rec.task.ID)
}

// list returns the tasks of subject (every task when it is empty), oldest
// first.
func (t *table) list(subject string) []Task {
	recs := make([]*record, 0, len(t.byID))
	for _, rec := range t.byID {
		if subject == "" || rec.task.Subject == subject {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b *record) int { return cmp.Compare(a.seq, b.seq) })
	tasks := make([]Task, len(recs))
	for i, rec := range recs {
		tasks[i] = rec.task
	}
	return tasks
}

// pendingRecords returns the pending tasks, oldest first.
func (t *table) pendingRecords() []*record {
	var recs []*record
	for _, rec := range t.byID {
		if !rec.task.Done() {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b *record) int { return cmp.Compare(a.seq, b.seq) })
	return recs
}
