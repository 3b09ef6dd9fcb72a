package guest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Store is what Read needs of xenstore; xenstore.Handle (and so a
// *xenstore.Client) has it.
type Store interface {
	Read(ctx context.Context, path string) ([]byte, error)
	Directory(ctx context.Context, path string) ([]string, error)
}

// roots are the subtrees of a guest's home that Read walks, most important
// first: a flood under data/ must not hide the features or the target.
var roots = []string{"control", "memory", "attr", "data"}

// errBudget stops a walk when a cap of the Quota is reached.
var errBudget = errors.New("guest report quota reached")

// Read reads the reports of guest domid from its home /local/domain/<domid>
// under quota and parses them. What the guest wrote never makes Read fail: a
// cap reached sets Truncated, junk is dropped. Read fails only when xs does
// (other than NotFound) or ctx ends.
func Read(ctx context.Context, xs Store, domid uint32, quota Quota) (GuestMetrics, error) {
	w := &walker{
		xs:   xs,
		q:    quota.withDefaults(),
		home: "/local/domain/" + strconv.FormatUint(uint64(domid), 10),
		kv:   make(map[string]string),
	}
	for _, r := range roots {
		err := w.walk(ctx, r, 1)
		if errors.Is(err, errBudget) {
			break
		}
		if err != nil {
			return GuestMetrics{}, fmt.Errorf("guest %d: read %s: %w", domid, r, err)
		}
	}
	m := parse(w.kv, w.q)
	m.Truncated = m.Truncated || w.truncated
	m.Dropped = append(w.notes, m.Dropped...)
	if len(m.Dropped) > maxNotes {
		m.Dropped = append(m.Dropped[:maxNotes-1], "more notes dropped")
	}
	m.Updated = time.Now()
	m.Cost = w.cost
	return m, nil
}

// walker is one read of a guest's home under a quota.
type walker struct {
	xs        Store
	q         Quota
	home      string
	kv        map[string]string // leaf path relative to home -> sanitised value
	cost      Cost
	truncated bool
	notes     []string
}

// note records that something was left out.
func (w *walker) note(format string, args ...any) {
	w.truncated = true
	if len(w.notes) < maxNotes {
		w.notes = append(w.notes, fmt.Sprintf(format, args...))
	}
}

// charge counts one request that returned n bytes.
func (w *walker) charge(n int) {
	w.cost.Requests++
	w.cost.Bytes += n + wireOverheadBytes
}

// room reports whether another request still fits: a reply carries at most
// one node's value (4096 bytes on the wire), so the budget is never
// overshot by a read. A directory listing may overshoot by its own size,
// which xenstore's per-domain node quota bounds.
func (w *walker) room(rel string) error {
	if w.cost.Bytes+4096+wireOverheadBytes > w.q.MaxBytes {
		w.note("byte budget of %d used at %s", w.q.MaxBytes, rel)
		return errBudget
	}
	if w.cost.Nodes >= w.q.MaxNodes {
		w.note("node cap of %d reached at %s", w.q.MaxNodes, rel)
		return errBudget
	}
	return nil
}

// walk reads the node rel (relative to the home): its children if it has
// any, else its value.
func (w *walker) walk(ctx context.Context, rel string, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.room(rel); err != nil {
		return err
	}
	w.cost.Nodes++
	names, err := w.xs.Directory(ctx, w.home+"/"+rel)
	if errdefs.IsNotFound(err) {
		w.charge(0)
		return nil // gone meanwhile, or never written
	}
	if err != nil {
		return err
	}
	size := 0
	for _, n := range names {
		size += len(n) + 1
	}
	w.charge(size)
	if len(names) == 0 {
		return w.leaf(ctx, rel)
	}
	if depth >= w.q.MaxDepth {
		w.note("%s: deeper than %d levels", rel, w.q.MaxDepth)
		return nil
	}
	if len(names) > w.q.MaxEntriesPerDir {
		w.note("%s: %d of %d entries read", rel, w.q.MaxEntriesPerDir, len(names))
		names = names[:w.q.MaxEntriesPerDir]
	}
	for _, n := range names {
		if err := w.walk(ctx, rel+"/"+n, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf reads the value of rel and keeps it if it is text.
func (w *walker) leaf(ctx context.Context, rel string) error {
	if err := w.room(rel); err != nil {
		return err
	}
	v, err := w.xs.Read(ctx, w.home+"/"+rel)
	if errdefs.IsNotFound(err) {
		w.charge(0)
		return nil
	}
	if err != nil {
		return err
	}
	w.charge(len(v))
	if len(v) > w.q.MaxValueBytes {
		w.note("%s: value of %d bytes dropped", rel, len(v))
		return nil
	}
	s, ok := sanitise(v)
	if !ok {
		w.note("%s: value is not text, dropped", rel)
		return nil
	}
	w.kv[rel] = s
	return nil
}

// sanitise returns v as a string without control characters, or false when v
// is not valid UTF-8 (binary junk).
func sanitise(v []byte) (string, bool) {
	if !utf8.Valid(v) {
		return "", false
	}
	s := string(v)
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s, true
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s), true
}
