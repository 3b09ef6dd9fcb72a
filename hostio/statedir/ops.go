package statedir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Put stores v, encoded as JSON, as the record kind/id, replacing any
// previous value atomically and durably: when Put returns nil the record
// survives a crash, and a crash during Put leaves the previous value.
func (s *Store) Put(ctx context.Context, kind, id string, v any) error {
	if err := validKey(kind, id); err != nil {
		return err
	}
	leave, err := s.enter(ctx, "put "+kind+"/"+id)
	if err != nil {
		return err
	}
	defer leave()
	b, err := encodeRecord(s.opts.version, kind, id, time.Now(), v)
	if err != nil {
		return err
	}
	unlock := s.keys.lock(kind, id)
	defer unlock()
	if err := s.ensureKindDir(kind); err != nil {
		return fmt.Errorf("statedir %s: put %s/%s: %w", s.dir, kind, id, err)
	}
	if err := writeFileAtomic(s.kindDir(kind), id+recordExt, b); err != nil {
		return fmt.Errorf("statedir %s: put %s/%s: %w", s.dir, kind, id, err)
	}
	return nil
}

// Get decodes the record kind/id into v (as json.Unmarshal does), after
// migrating it if it is older than the store's version. It fails with
// errdefs.ErrNotFound when there is no such record and with
// errdefs.ErrInvalid when the file is damaged, newer than the store's
// version or does not decode into v; Get leaves a damaged file in place
// (Load moves it aside).
func (s *Store) Get(ctx context.Context, kind, id string, v any) error {
	if err := validKey(kind, id); err != nil {
		return err
	}
	leave, err := s.enter(ctx, "get "+kind+"/"+id)
	if err != nil {
		return err
	}
	defer leave()
	unlock := s.keys.lock(kind, id)
	b, err := os.ReadFile(s.recordPath(kind, id))
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("statedir: get %s/%s: %w", kind, id, errdefs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("statedir %s: get %s/%s: %w", s.dir, kind, id, err)
	}
	env, err := decodeRecord(b, kind, id, s.opts.version)
	if err != nil {
		return err
	}
	data, err := s.upgrade(env)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("statedir: get %s/%s: decode into %T: %v: %w", kind, id, v, err, errdefs.ErrInvalid)
	}
	return nil
}

// Delete removes the record kind/id durably. Deleting a missing record is
// not an error.
func (s *Store) Delete(ctx context.Context, kind, id string) error {
	if err := validKey(kind, id); err != nil {
		return err
	}
	leave, err := s.enter(ctx, "delete "+kind+"/"+id)
	if err != nil {
		return err
	}
	defer leave()
	unlock := s.keys.lock(kind, id)
	defer unlock()
	err = os.Remove(s.recordPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(s.kindDir(kind))
	}
	if err != nil {
		return fmt.Errorf("statedir %s: delete %s/%s: %w", s.dir, kind, id, err)
	}
	return nil
}

// List returns the ids of kind's records, sorted; none is an empty list.
// It does not read the records, so a damaged one is listed until Load
// moves it aside.
func (s *Store) List(ctx context.Context, kind string) ([]string, error) {
	if err := validName("kind", kind); err != nil {
		return nil, err
	}
	leave, err := s.enter(ctx, "list "+kind)
	if err != nil {
		return nil, err
	}
	defer leave()
	return s.ids(kind)
}

// ids lists the ids of kind's record files, sorted, skipping temporary,
// quarantined and foreign files.
func (s *Store) ids(kind string) ([]string, error) {
	entries, err := os.ReadDir(s.kindDir(kind))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statedir %s: list %s: %w", s.dir, kind, err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), recordExt)
		if ok && e.Type().IsRegular() && validName("id", id) == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
