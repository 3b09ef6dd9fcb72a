package sim

import (
	"fmt"
	"slices"
	"sync"
)

// NetDevs is dom0's list of network interfaces: netback creates
// vif<domid>.<devid> when a VIF backend appears and removes it when the
// backend closes, and hotplug looks for it before adding it to a bridge.
type NetDevs struct {
	mu    sync.Mutex
	devs  map[string]bool
	wait  map[string][]chan struct{}
	ports map[string]string // interface -> bridge
}

func newNetDevs() *NetDevs {
	return &NetDevs{devs: make(map[string]bool), wait: make(map[string][]chan struct{}),
		ports: make(map[string]string)}
}

// VifName is netback's interface name for a VIF.
func VifName(domid uint32, devid int) string { return fmt.Sprintf("vif%d.%d", domid, devid) }

func (n *NetDevs) add(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.devs[name] = true
	for _, ch := range n.wait[name] {
		close(ch)
	}
	delete(n.wait, name)
}

func (n *NetDevs) remove(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.devs, name)
	delete(n.ports, name)
}

func (n *NetDevs) detach(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.ports, name)
}

// Exists reports whether the interface exists.
func (n *NetDevs) Exists(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.devs[name]
}

// Appeared returns a channel closed once the interface exists.
func (n *NetDevs) Appeared(name string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan struct{})
	if n.devs[name] {
		close(ch)
		return ch
	}
	n.wait[name] = append(n.wait[name], ch)
	return ch
}

// AttachToBridge records the interface as a port of bridge; it fails if the
// interface does not exist.
func (n *NetDevs) AttachToBridge(name, bridge string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.devs[name] {
		return fmt.Errorf("sim: no network interface %s", name)
	}
	n.ports[name] = bridge
	return nil
}

// Bridge returns the bridge the interface is attached to.
func (n *NetDevs) Bridge(name string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.ports[name]
	return b, ok
}

// List returns the interface names, sorted.
func (n *NetDevs) List() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.devs))
	for d := range n.devs {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}
