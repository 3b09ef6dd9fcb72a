package dom0_test

import (
	"fmt"
	"sync"

	"github.com/xenactor/xenactor/hostio/hotplug/dom0"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// fakeOS is an OS in memory: files, block devices, loop devices, links
// and Linux bridges.
type fakeOS struct {
	mu      sync.Mutex
	files   map[string]bool      // regular files
	blocks  map[string][2]uint32 // block devices other than loops
	loops   []string             // loop N's backing file, "" when free
	loopRO  []bool
	links   map[string]bool // name -> up
	bridges map[string]bool
	masters map[string]string
	// attaches counts AttachLoop calls.
	attaches int
}

var _ dom0.OS = (*fakeOS)(nil)

func newFakeOS() *fakeOS {
	return &fakeOS{files: map[string]bool{}, blocks: map[string][2]uint32{}, links: map[string]bool{},
		bridges: map[string]bool{}, masters: map[string]string{}}
}

func (f *fakeOS) Device(path string) (uint32, uint32, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files[path] {
		return 0, 0, false, nil
	}
	if n, ok := f.blocks[path]; ok {
		return n[0], n[1], true, nil
	}
	for i := range f.loops {
		if path == fmt.Sprintf("/dev/loop%d", i) {
			return 7, uint32(i), true, nil
		}
	}
	return 0, 0, false, fmt.Errorf("%s: %w", path, errdefs.ErrNotFound)
}

func (f *fakeOS) AttachLoop(path string, readOnly bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.files[path] {
		return "", fmt.Errorf("%s: %w", path, errdefs.ErrNotFound)
	}
	f.attaches++
	for i, b := range f.loops {
		if b == "" {
			f.loops[i], f.loopRO[i] = path, readOnly
			return fmt.Sprintf("/dev/loop%d", i), nil
		}
	}
	f.loops, f.loopRO = append(f.loops, path), append(f.loopRO, readOnly)
	return fmt.Sprintf("/dev/loop%d", len(f.loops)-1), nil
}

func (f *fakeOS) loopIndex(dev string) (int, error) {
	var n int
	if _, err := fmt.Sscanf(dev, "/dev/loop%d", &n); err != nil || n >= len(f.loops) {
		return 0, fmt.Errorf("%s: %w", dev, errdefs.ErrNotFound)
	}
	return n, nil
}

func (f *fakeOS) LoopBacking(dev string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.loopIndex(dev)
	if err != nil {
		return "", err
	}
	return f.loops[n], nil
}

func (f *fakeOS) DetachLoop(dev string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.loopIndex(dev)
	if err != nil {
		return err
	}
	f.loops[n] = ""
	return nil
}

// backing returns loop n's file and whether it is read-only.
func (f *fakeOS) backing(n int) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n >= len(f.loops) {
		return "", false
	}
	return f.loops[n], f.loopRO[n]
}

func (f *fakeOS) addLink(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[name] = false
}

func (f *fakeOS) link(name string) (up bool, master string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[name], f.masters[name]
}

func (f *fakeOS) LinkExists(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.links[name]
	return ok
}

func (f *fakeOS) LinkUp(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.links[name]; !ok {
		return fmt.Errorf("link %s: %w", name, errdefs.ErrNotFound)
	}
	f.links[name] = true
	return nil
}

func (f *fakeOS) IsBridge(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bridges[name]
}

func (f *fakeOS) SetMaster(link, bridge string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.links[link]; !ok || !f.bridges[bridge] {
		return fmt.Errorf("link %s, bridge %s: %w", link, bridge, errdefs.ErrNotFound)
	}
	f.masters[link] = bridge
	return nil
}

func (f *fakeOS) ClearMaster(link string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.masters, link)
	return nil
}
