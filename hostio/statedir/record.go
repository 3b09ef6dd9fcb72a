package statedir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// envelope is the content of one record file.
type envelope struct {
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Updated time.Time       `json:"updated"`
	Data    json.RawMessage `json:"data"`
}

// encodeRecord wraps v in the envelope of kind/id at the given version.
func encodeRecord(version int, kind, id string, now time.Time, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("statedir: put %s/%s: encode %T: %v: %w", kind, id, v, err, errdefs.ErrInvalid)
	}
	b, err := json.Marshal(envelope{Version: version, Kind: kind, ID: id, Updated: now.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("statedir: put %s/%s: %v: %w", kind, id, err, errdefs.ErrInvalid)
	}
	return append(b, '\n'), nil
}

// decodeRecord parses the file of kind/id and checks that it is a whole
// envelope naming kind/id at a version between 1 and maxVersion. Every
// error wraps errdefs.ErrInvalid.
func decodeRecord(b []byte, kind, id string, maxVersion int) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return env, fmt.Errorf("statedir: record %s/%s: %v: %w", kind, id, err, errdefs.ErrInvalid)
	}
	switch {
	case env.Kind != kind || env.ID != id:
		return env, fmt.Errorf("statedir: record %s/%s: names %q/%q: %w", kind, id, env.Kind, env.ID, errdefs.ErrInvalid)
	case env.Version < 1:
		return env, fmt.Errorf("statedir: record %s/%s: version %d: %w", kind, id, env.Version, errdefs.ErrInvalid)
	case env.Version > maxVersion:
		return env, fmt.Errorf("statedir: record %s/%s: version %d newer than supported %d: %w",
			kind, id, env.Version, maxVersion, errdefs.ErrInvalid)
	case len(bytes.TrimSpace(env.Data)) == 0:
		return env, fmt.Errorf("statedir: record %s/%s: no data: %w", kind, id, errdefs.ErrInvalid)
	}
	return env, nil
}

// upgrade returns the record's data in the store's schema version, running
// the caller's migration on older records.
func (s *Store) upgrade(env envelope) (json.RawMessage, error) {
	if env.Version == s.opts.version || s.opts.migrate == nil {
		return env.Data, nil
	}
	data, err := s.opts.migrate(env.Kind, env.Version, env.Data)
	if err != nil {
		return nil, fmt.Errorf("statedir: record %s/%s: migrate from version %d to %d: %w",
			env.Kind, env.ID, env.Version, s.opts.version, err)
	}
	return data, nil
}
