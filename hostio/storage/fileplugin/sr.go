package fileplugin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// SR is an SR of the file plugin: a directory of volumes.
type SR struct{ dir string }

// meta is a volume's <key>.json.
type meta struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ReadWrite   bool   `json:"read_write"`
	VirtualSize uint64 `json:"virtual_size"`
}

// keyPattern is a volume key: a uuid, so that no key escapes the SR.
var keyPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// OpenSR opens the SR at uri ("file:///path" or an absolute path), an
// existing directory.
func OpenSR(uri string) (*SR, error) {
	dir := strings.TrimPrefix(uri, "file://")
	if dir == "" || !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("SR %q: want file:///<absolute path>: %w", uri, errdefs.ErrInvalid)
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("SR %s: %w", dir, errdefs.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("SR %s: %v: %w", dir, err, errdefs.ErrUnavailable)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("SR %s is not a directory: %w", dir, errdefs.ErrInvalid)
	}
	return &SR{dir: filepath.Clean(dir)}, nil
}

func (s *SR) path(key, ext string) string { return filepath.Join(s.dir, key+ext) }

// ImagePath is where the data of volume key is.
func (s *SR) ImagePath(key string) string { return s.path(key, ".img") }

func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("volume key %q is not a uuid: %w", key, errdefs.ErrInvalid)
	}
	return nil
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Create makes a sparse volume of sizeBytes.
func (s *SR) Create(name, description string, sizeBytes uint64) (storage.Volume, error) {
	if sizeBytes == 0 {
		return storage.Volume{}, fmt.Errorf("create %q: size 0: %w", name, errdefs.ErrInvalid)
	}
	key := newKey()
	unlock, err := s.lock(key, true)
	if err != nil {
		return storage.Volume{}, err
	}
	defer unlock()
	f, err := os.OpenFile(s.ImagePath(key), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.removeFiles(key)
		return storage.Volume{}, fsError("create", key, err)
	}
	err = f.Truncate(int64(sizeBytes))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.writeJSON(key, ".json", meta{UUID: key, Name: name, Description: description, ReadWrite: true,
			VirtualSize: sizeBytes})
	}
	if err != nil {
		s.removeFiles(key)
		return storage.Volume{}, fsError("create", key, err)
	}
	return s.stat(key)
}

// Destroy deletes volume key, which must not be attached.
func (s *SR) Destroy(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	unlock, err := s.lock(key, false)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.readMeta(key); err != nil {
		return err
	}
	if st, ok, err := s.readAttach(key); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("volume %s is attached to domain %s: %w", key, st.Domain, errdefs.ErrBusy)
	}
	if err := os.Remove(s.path(key, ".json")); err != nil {
		return fsError("destroy", key, err)
	}
	if err := os.Remove(s.ImagePath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError("destroy", key, err)
	}
	_ = os.Remove(s.path(key, ".lock"))
	return nil
}

// removeFiles removes what a create or copy that failed made of key.
func (s *SR) removeFiles(key string) {
	for _, ext := range []string{".json", ".img", ".lock"} {
		_ = os.Remove(s.path(key, ext))
	}
}

// Resize grows volume key to sizeBytes; a smaller size is refused.
func (s *SR) Resize(key string, sizeBytes uint64) (storage.Volume, error) {
	m, unlock, err := s.open(key)
	if err != nil {
		return storage.Volume{}, err
	}
	defer unlock()
	if sizeBytes < m.VirtualSize {
		return storage.Volume{}, fmt.Errorf("volume %s: shrinking from %d to %d bytes is refused: %w", key,
			m.VirtualSize, sizeBytes, errdefs.ErrInvalid)
	}
	if err := os.Truncate(s.ImagePath(key), int64(sizeBytes)); err != nil {
		return storage.Volume{}, fsError("resize", key, err)
	}
	m.VirtualSize = sizeBytes
	if err := s.writeJSON(key, ".json", m); err != nil {
		return storage.Volume{}, fsError("resize", key, err)
	}
	return s.stat(key)
}

// Copy makes a new volume with volume key's data: writable for a clone,
// read-only for a snapshot.
func (s *SR) Copy(key string, writable bool) (storage.Volume, error) {
	m, unlock, err := s.open(key)
	if err != nil {
		return storage.Volume{}, err
	}
	defer unlock()
	nkey := newKey()
	nunlock, err := s.lock(nkey, true)
	if err != nil {
		return storage.Volume{}, err
	}
	defer nunlock()
	if err := copySparse(s.ImagePath(nkey), s.ImagePath(key), int64(m.VirtualSize)); err != nil {
		s.removeFiles(nkey)
		return storage.Volume{}, fsError("copy", key, err)
	}
	m.UUID, m.ReadWrite = nkey, writable
	if err := s.writeJSON(nkey, ".json", m); err != nil {
		s.removeFiles(nkey)
		return storage.Volume{}, fsError("copy", key, err)
	}
	return s.stat(nkey)
}

// Stat describes volume key.
func (s *SR) Stat(key string) (storage.Volume, error) {
	if err := checkKey(key); err != nil {
		return storage.Volume{}, err
	}
	unlock, err := s.lock(key, false)
	if err != nil {
		return storage.Volume{}, err
	}
	defer unlock()
	return s.stat(key)
}

// List describes every volume, by key.
func (s *SR) List() ([]storage.Volume, error) {
	names, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return nil, fsError("list", "", err)
	}
	out := []storage.Volume{}
	for _, n := range names {
		key := strings.TrimSuffix(filepath.Base(n), ".json")
		if checkKey(key) != nil {
			continue
		}
		v, err := s.stat(key)
		if errdefs.IsNotFound(err) {
			continue // destroyed meanwhile
		} else if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b storage.Volume) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// stat describes volume key; the caller holds its lock, or lists.
func (s *SR) stat(key string) (storage.Volume, error) {
	m, err := s.readMeta(key)
	if err != nil {
		return storage.Volume{}, err
	}
	v := storage.Volume{Key: key, UUID: m.UUID, Name: m.Name, Description: m.Description, ReadWrite: m.ReadWrite,
		VirtualSize: m.VirtualSize, URI: []string{"file://" + s.ImagePath(key)}}
	var st syscall.Stat_t
	if err := syscall.Stat(s.ImagePath(key), &st); err != nil {
		return storage.Volume{}, fsError("stat", key, err)
	}
	v.PhysicalUtilisation = uint64(st.Blocks) * 512
	if a, ok, err := s.readAttach(key); err != nil {
		return storage.Volume{}, err
	} else if ok {
		v.Keys = map[string]string{storage.KeyAttachedDomain: a.Domain, storage.KeyActive: fmt.Sprint(a.Active)}
	}
	return v, nil
}

// open checks key, locks the volume (shared) and reads its metadata; the
// caller unlocks it.
func (s *SR) open(key string) (meta, func(), error) {
	if err := checkKey(key); err != nil {
		return meta{}, nil, err
	}
	unlock, err := s.lock(key, false)
	if err != nil {
		return meta{}, nil, err
	}
	m, err := s.readMeta(key)
	if err != nil {
		unlock()
		return meta{}, nil, err
	}
	return m, unlock, nil
}

func (s *SR) readMeta(key string) (meta, error) {
	var m meta
	b, err := os.ReadFile(s.path(key, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("volume %s: %w", key, errdefs.ErrNotFound)
	} else if err != nil {
		return m, fsError("read", key, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("volume %s: corrupt metadata: %v: %w", key, err, errdefs.ErrUnavailable)
	}
	return m, nil
}

// writeJSON writes <key><ext> atomically: a temporary file renamed over it.
func (s *SR) writeJSON(key, ext string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, "."+key+ext+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path(key, ext)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// fsError wraps a file-system error of op on volume key: a full disk is
// errdefs.ErrResourceExhausted, the rest errdefs.ErrUnavailable.
func fsError(op, key string, err error) error {
	kind := errdefs.ErrUnavailable
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		kind = errdefs.ErrResourceExhausted
	}
	return fmt.Errorf("%s volume %s: %v: %w", op, key, err, kind)
}
