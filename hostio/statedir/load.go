package statedir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Load calls fn with the id and the data (the value given to Put, as JSON,
// migrated to the store's version) of every record of kind, in id order.
// It is how a restarted daemon finds the VMs and tasks it owned.
//
// A damaged record (not a whole JSON envelope, naming another kind or id,
// or newer than the store's version) is moved aside to
// <dir>/<kind>/<id>.json.corrupt-<time>, where an operator can inspect it,
// and skipped; a record whose migration fails is skipped and left in place.
// Loading goes on with the other records, and Load returns the errors
// joined (errors.Join), those of damaged records wrapping
// errdefs.ErrInvalid. An error from fn, a cancelled ctx or a Close stops
// Load and is returned joined with the errors so far.
//
// fn runs without any lock of the Store held, so it may call Get, Put and
// Delete, including on the record it was given. raw is valid only during
// the call.
func (s *Store) Load(ctx context.Context, kind string, fn func(id string, raw json.RawMessage) error) error {
	if err := validName("kind", kind); err != nil {
		return err
	}
	leave, err := s.enter(ctx, "load "+kind)
	if err != nil {
		return err
	}
	ids, err := s.ids(kind)
	leave()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		data, err := s.loadOne(ctx, kind, id)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, errStop) {
				break
			}
			continue
		}
		if data == nil { // deleted since listed
			continue
		}
		if err := fn(id, data); err != nil {
			errs = append(errs, fmt.Errorf("statedir: load %s/%s: %w", kind, id, err))
			break
		}
	}
	return errors.Join(errs...)
}

// errStop marks the errors of loadOne that end Load: the context is done or
// the store closed.
var errStop = errors.New("load stopped")

// loadOne reads, checks and migrates one record, quarantining it when
// damaged. It returns nil data and no error when the record has gone.
func (s *Store) loadOne(ctx context.Context, kind, id string) (json.RawMessage, error) {
	leave, err := s.enter(ctx, "load "+kind+"/"+id)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, errStop)
	}
	defer leave()
	unlock := s.keys.lock(kind, id)
	b, err := os.ReadFile(s.recordPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		unlock()
		return nil, nil
	}
	if err != nil {
		unlock()
		return nil, fmt.Errorf("statedir %s: load %s/%s: %w", s.dir, kind, id, err)
	}
	env, err := decodeRecord(b, kind, id, s.opts.version)
	if err != nil {
		err = s.quarantine(kind, id, err)
		unlock()
		return nil, err
	}
	unlock()
	return s.upgrade(env)
}

// quarantine moves the damaged record kind/id aside and returns why, with
// where it went.
func (s *Store) quarantine(kind, id string, why error) error {
	from := s.recordPath(kind, id)
	to := from + corruptMarker + time.Now().UTC().Format(corruptTime)
	if err := os.Rename(from, to); err != nil {
		return errors.Join(why, fmt.Errorf("statedir %s: move aside %s/%s: %w", s.dir, kind, id, err))
	}
	if err := syncDir(s.kindDir(kind)); err != nil {
		return errors.Join(fmt.Errorf("%w; moved to %s", why, to), err)
	}
	return fmt.Errorf("%w; moved to %s", why, to)
}
