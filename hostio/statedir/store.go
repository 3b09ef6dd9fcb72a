package statedir

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Version is the schema version a Store writes and the newest it reads when
// Open is given no WithVersion.
const Version = 1

// MigrateFunc turns the data of a kind's record written at schema version
// from (older than the store's) into the store's current schema. It must
// not call back into the Store.
type MigrateFunc func(kind string, from int, data json.RawMessage) (json.RawMessage, error)

// Option configures Open.
type Option func(*options)

type options struct {
	version int
	migrate MigrateFunc
}

// WithVersion sets the schema version the Store writes and the newest it
// reads (default Version). It must be at least 1.
func WithVersion(version int) Option { return func(o *options) { o.version = version } }

// WithMigrate sets the function Get and Load run on records older than the
// store's version.
func WithMigrate(fn MigrateFunc) Option { return func(o *options) { o.migrate = fn } }

// Store is a state directory held exclusively by this process. It is safe
// for concurrent use.
type Store struct {
	dir  string
	opts options
	keys keyLocks
	// kinds holds the kind directories known to exist (kind -> struct{}).
	kinds sync.Map

	// mu is held shared by every operation and exclusively by Close, so
	// Close waits for operations in flight and none starts after it.
	mu     sync.RWMutex
	lock   *os.File // the flocked <dir>/.lock
	closed bool
}

// Open opens the state directory dir, creating it with mode 0700 if needed,
// and takes its exclusive lock: if another Store, in this process or
// another, holds dir, Open fails with errdefs.ErrBusy naming the holder's
// pid. Temporary files left by a crash during Put are removed.
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{version: Version}
	for _, opt := range opts {
		opt(&o)
	}
	if o.version < 1 {
		return nil, fmt.Errorf("statedir %s: schema version %d, want at least 1: %w", dir, o.version, errdefs.ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("statedir %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opts: o, lock: lock}
	if err := s.removeTemps(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the state directory's lock after the operations in flight
// finish. Operations after Close fail with errdefs.ErrUnavailable. Closing
// twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.lock.Close(); err != nil {
		return fmt.Errorf("statedir %s: close: %w", s.dir, err)
	}
	return nil
}

// enter starts an operation named op: it checks ctx and that the store is
// open, and returns the function that ends the operation.
func (s *Store) enter(ctx context.Context, op string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("statedir: %s: %w", op, err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, fmt.Errorf("statedir %s: %s: store closed: %w", s.dir, op, errdefs.ErrUnavailable)
	}
	return s.mu.RUnlock, nil
}

// kindDir is the directory of kind's records.
func (s *Store) kindDir(kind string) string { return filepath.Join(s.dir, kind) }

// recordPath is the file of one record.
func (s *Store) recordPath(kind, id string) string {
	return filepath.Join(s.dir, kind, id+recordExt)
}

// ensureKindDir creates kind's directory the first time a record of that
// kind is written, and makes the new entry durable in the state directory.
func (s *Store) ensureKindDir(kind string) error {
	if _, ok := s.kinds.Load(kind); ok {
		return nil
	}
	if err := os.Mkdir(s.kindDir(kind), 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.kinds.Store(kind, struct{}{})
	return nil
}

// keyLocks serialises operations on one record; entries live only while
// someone holds or waits for them.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks the record kind/id and returns its unlock function.
func (k *keyLocks) lock(kind, id string) func() {
	key := kind + "/" + id
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyLock)
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
