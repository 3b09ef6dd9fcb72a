package storage

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// SR names a storage repository of the host: the plugin that serves it and
// its URI for that plugin.
type SR struct {
	Name      string
	PluginDir string
	URI       string
}

// Registry holds the host's SRs by name. It is safe for concurrent use.
type Registry struct {
	opts []Option
	mu   sync.RWMutex
	srs  map[string]SR
}

// NewRegistry returns an empty registry whose clients take opts.
func NewRegistry(opts ...Option) *Registry {
	return &Registry{opts: opts, srs: make(map[string]SR)}
}

// Add registers sr. Its name must be non-empty without "/" (errdefs.ErrInvalid)
// and not taken (errdefs.ErrExists).
func (r *Registry) Add(sr SR) error {
	if sr.Name == "" || strings.Contains(sr.Name, "/") {
		return fmt.Errorf("storage: SR name %q: not empty, no '/': %w", sr.Name, errdefs.ErrInvalid)
	}
	if sr.PluginDir == "" {
		return fmt.Errorf("storage: SR %s has no plugin directory: %w", sr.Name, errdefs.ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.srs[sr.Name]; ok {
		return fmt.Errorf("storage: SR %s: %w", sr.Name, errdefs.ErrExists)
	}
	r.srs[sr.Name] = sr
	return nil
}

// Remove forgets the SR name.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.srs, name)
}

// SRs lists the SRs, by name.
func (r *Registry) SRs() []SR {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := slices.Sorted(maps.Keys(r.srs))
	out := make([]SR, 0, len(names))
	for _, n := range names {
		out = append(out, r.srs[n])
	}
	return out
}

// Client returns a client of the SR name (errdefs.ErrNotFound when it is
// not registered).
func (r *Registry) Client(name string) (*Client, error) {
	r.mu.RLock()
	sr, ok := r.srs[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("storage: SR %s: %w", name, errdefs.ErrNotFound)
	}
	return NewClient(sr.PluginDir, sr.URI, r.opts...), nil
}

// Lookup resolves the VDI reference "<sr>/<key>" to its SR's client and
// the volume's key.
func (r *Registry) Lookup(vdi string) (*Client, string, error) {
	sr, key, err := ParseVDI(vdi)
	if err != nil {
		return nil, "", err
	}
	c, err := r.Client(sr)
	if err != nil {
		return nil, "", fmt.Errorf("VDI %s: %w", vdi, err)
	}
	return c, key, nil
}

// ParseVDI splits a VDI reference "<sr>/<key>": the SR's name and the
// volume's key in it, both non-empty (errdefs.ErrInvalid otherwise).
func ParseVDI(vdi string) (sr, key string, err error) {
	sr, key, ok := strings.Cut(vdi, "/")
	if !ok || sr == "" || key == "" || strings.TrimSpace(vdi) != vdi {
		return "", "", fmt.Errorf("storage: VDI reference %q is not <sr>/<key>: %w", vdi, errdefs.ErrInvalid)
	}
	return sr, key, nil
}
