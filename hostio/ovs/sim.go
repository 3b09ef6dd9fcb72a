package ovs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Sim is an in-memory Switch with Open vSwitch's behaviour and errors, for
// the simulated host. As in Open vSwitch, a bridge has a local port of its
// own name, which ListPorts leaves out and DelPort refuses. The zero value
// is not usable; use NewSim.
type Sim struct {
	mu      sync.Mutex
	bridges map[string]map[string]bool // bridge -> its ports
	ports   map[string]simPort
	flows   map[string][]Flow // bridge -> its OpenFlow rules (sim_flows.go)
}

type simPort struct {
	bridge string
	ids    map[string]string
}

var _ Switch = (*Sim)(nil)

// NewSim returns a switch without bridges.
func NewSim() *Sim {
	return &Sim{bridges: make(map[string]map[string]bool), ports: make(map[string]simPort)}
}

// enter checks the names, given as what-name pairs, and ctx, then locks
// the switch; the caller calls unlock.
func (s *Sim) enter(ctx context.Context, names ...string) (unlock func(), err error) {
	for i := 0; i+1 < len(names); i += 2 {
		if err := ValidateName(names[i], names[i+1]); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	return s.mu.Unlock, nil
}

// AddBridge creates the bridge unless it exists.
func (s *Sim) AddBridge(ctx context.Context, name string) error {
	unlock, err := s.enter(ctx, "bridge", name)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.bridges[name]; ok {
		return nil
	}
	if p, ok := s.ports[name]; ok {
		return fmt.Errorf("ovs: bridge %s: a port of that name exists on bridge %s: %w", name, p.bridge, errdefs.ErrExists)
	}
	s.bridges[name] = make(map[string]bool)
	return nil
}

// DelBridge deletes the bridge and its ports.
func (s *Sim) DelBridge(ctx context.Context, name string) error {
	unlock, err := s.enter(ctx, "bridge", name)
	if err != nil {
		return err
	}
	defer unlock()
	ports, ok := s.bridges[name]
	if !ok {
		return fmt.Errorf("ovs: no bridge named %s: %w", name, errdefs.ErrNotFound)
	}
	for p := range ports {
		delete(s.ports, p)
	}
	delete(s.bridges, name)
	delete(s.flows, name)
	return nil
}

// AddPort puts port on bridge with externalIDs, replacing a port of that
// name.
func (s *Sim) AddPort(ctx context.Context, bridge, port string, externalIDs map[string]string) error {
	if err := ValidateExternalIDs(externalIDs); err != nil {
		return err
	}
	unlock, err := s.enter(ctx, "bridge", bridge, "port", port)
	if err != nil {
		return err
	}
	defer unlock()
	ports, ok := s.bridges[bridge]
	if !ok {
		return fmt.Errorf("ovs: add port %s: no bridge named %s: %w", port, bridge, errdefs.ErrNotFound)
	}
	if _, ok := s.bridges[port]; ok {
		return fmt.Errorf("ovs: add port %s: a bridge of that name exists: %w", port, errdefs.ErrExists)
	}
	if old, ok := s.ports[port]; ok {
		delete(s.bridges[old.bridge], port)
	}
	ports[port] = true
	s.ports[port] = simPort{bridge: bridge, ids: maps.Clone(externalIDs)}
	return nil
}

// DelPort deletes the port.
func (s *Sim) DelPort(ctx context.Context, port string) error {
	unlock, err := s.enter(ctx, "port", port)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.bridges[port]; ok {
		return fmt.Errorf("ovs: delete port %s: it is the local port of bridge %s: %w", port, port, errdefs.ErrInvalid)
	}
	p, ok := s.ports[port]
	if !ok {
		return fmt.Errorf("ovs: no port named %s: %w", port, errdefs.ErrNotFound)
	}
	delete(s.bridges[p.bridge], port)
	delete(s.ports, port)
	return nil
}

// ListPorts returns bridge's ports, sorted.
func (s *Sim) ListPorts(ctx context.Context, bridge string) ([]string, error) {
	unlock, err := s.enter(ctx, "bridge", bridge)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ports, ok := s.bridges[bridge]
	if !ok {
		return nil, fmt.Errorf("ovs: no bridge named %s: %w", bridge, errdefs.ErrNotFound)
	}
	out := slices.Sorted(maps.Keys(ports))
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// PortExternalIDs returns a copy of the port's external-ids; a bridge's
// local port has none.
func (s *Sim) PortExternalIDs(ctx context.Context, port string) (map[string]string, error) {
	unlock, err := s.enter(ctx, "port", port)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, ok := s.bridges[port]; ok {
		return map[string]string{}, nil
	}
	p, ok := s.ports[port]
	if !ok {
		return nil, fmt.Errorf("ovs: no port named %s: %w", port, errdefs.ErrNotFound)
	}
	ids := maps.Clone(p.ids)
	if ids == nil {
		ids = map[string]string{}
	}
	return ids, nil
}
