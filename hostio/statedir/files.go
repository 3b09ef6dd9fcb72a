package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// recordExt ends the name of every record file.
	recordExt = ".json"
	// tmpMarker is in the name of Put's temporary files:
	// ".<id>.json.tmp-<random>". The leading dot keeps them apart from
	// records, as no id starts with one.
	tmpMarker = ".tmp-"
	// corruptMarker is in the name of a record moved aside:
	// "<id>.json.corrupt-<time>".
	corruptMarker = ".corrupt-"
	// corruptTime formats the time in a quarantined file's name: sortable
	// and free of ':'.
	corruptTime = "20060102T150405.000000000Z"
)

// writeFileAtomic replaces dir/name with data: it writes a temporary file
// in dir, fsyncs it, renames it over name and fsyncs dir, so a crash leaves
// either the old file or the new one.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+tmpMarker+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, making the entries created, renamed or
// removed in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isTemp reports whether a directory entry is a temporary file of Put.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, recordExt+tmpMarker)
}

// removeTemps removes the temporary files a crash during Put left in the
// kind directories. Called by Open with the lock held, so no Put is in
// flight.
func (s *Store) removeTemps() error {
	kinds, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("statedir %s: %w", s.dir, err)
	}
	var errs []error
	for _, k := range kinds {
		if !k.IsDir() || validName("kind", k.Name()) != nil {
			continue
		}
		dir := s.kindDir(k.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !isTemp(e.Name()) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("statedir %s: remove temporary files: %w", s.dir, err)
	}
	return nil
}
