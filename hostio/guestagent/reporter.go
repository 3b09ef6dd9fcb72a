package guestagent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The keys a Reporter reads and writes besides the report, relative to the
// guest's home.
const (
	// UniqueDomainIDKey is written by the toolstack, a new value for every
	// domain it builds; an agent that sees it change was resumed or
	// migrated into a new domain.
	UniqueDomainIDKey = "unique-domain-id"
	// UpdatedKey is written ("1") with every change, so that the toolstack
	// can watch one key.
	UpdatedKey = "data/updated"
)

// Reporter writes reports into a guest's xenstore home as xe-daemon does:
// only the keys that changed since the last report (removing the keys that
// went), with data/updated, in one transaction; a key the guest may not
// write is left out, not the whole report. It remembers the
// unique-domain-id it last saw; a different one means its cache describes
// another domain's home, so it writes everything again. Report calls are
// serialised.
type Reporter struct {
	mu      sync.Mutex
	uid     string
	last    map[string]string
	onNewID func(uid string)
}

// NewReporter returns a Reporter that last saw unique-domain-id uid (""
// for none) and has written nothing yet. onNewID, if not nil, is called
// (during Report) with each new unique-domain-id it sees.
func NewReporter(uid string, onNewID func(uid string)) *Reporter {
	return &Reporter{uid: uid, onNewID: onNewID}
}

// Assume makes the Reporter believe it wrote keys: an agent resumed from a
// saved image still holds in its memory what it wrote before.
func (r *Reporter) Assume(keys map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = maps.Clone(keys)
}

// Forget makes the next Report write everything.
func (r *Reporter) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = nil
}

// Result is what one Report did.
type Result struct {
	// NewDomain: the unique-domain-id differed from the one last seen.
	NewDomain bool
	// Written are the keys written (data/updated included), Removed the
	// keys removed, both sorted; neither when nothing changed.
	Written, Removed []string
	// Denied are the keys xenstore did not let the guest write, sorted;
	// they are tried again only when their values change.
	Denied []string
}

// Report writes keys (relative to the guest's home, as Keys returns them)
// through xs, the guest's own connection. When it fails nothing is
// remembered as written, so the next Report tries again.
func (r *Reporter) Report(ctx context.Context, xs *xenstore.Client, keys map[string]string) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res Result
	uid, err := xs.Read(ctx, UniqueDomainIDKey)
	switch {
	case err == nil && string(uid) != r.uid:
		r.uid, r.last, res.NewDomain = string(uid), nil, true
		if r.onNewID != nil {
			r.onNewID(r.uid)
		}
	case err != nil && !errdefs.IsNotFound(err):
		return res, fmt.Errorf("guest agent: read %s: %w", UniqueDomainIDKey, err)
	}
	changed, gone := Diff(r.last, keys)
	if len(changed) == 0 && len(gone) == 0 {
		return res, nil
	}
	changed[UpdatedKey] = "1"
	var denied []string
	err = xs.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		denied = denied[:0]
		for k, v := range changed {
			err := tx.Write(ctx, k, []byte(v))
			if errdefs.IsPermission(err) {
				// A toolstack that keeps the guest out of a key (xl
				// has no control/feature-balloon for it to write)
				// must not cost it the rest of its report.
				denied = append(denied, k)
				continue
			}
			if err != nil {
				return err
			}
		}
		for _, k := range gone {
			if err := tx.Rm(ctx, k); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("guest agent: write %d keys: %w", len(changed), err)
	}
	r.last = maps.Clone(keys)
	for _, k := range denied {
		delete(changed, k)
	}
	res.Written = slices.Sorted(maps.Keys(changed))
	res.Removed = slices.Sorted(slices.Values(gone))
	res.Denied = slices.Sorted(slices.Values(denied))
	return res, nil
}
