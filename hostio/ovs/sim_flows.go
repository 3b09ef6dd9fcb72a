package ovs

import (
	"context"
	"fmt"
	"slices"

	"github.com/xenactor/xenactor/internal/errdefs"
)

var _ FlowSwitch = (*Sim)(nil)

// AddFlows records the flows of bridge, all or none: a flow with the same
// table, priority and match as a recorded one replaces it.
func (s *Sim) AddFlows(ctx context.Context, bridge string, flows []Flow) error {
	for _, f := range flows {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	unlock, err := s.flowBridge(ctx, bridge)
	if err != nil {
		return err
	}
	defer unlock()
	if s.flows == nil {
		s.flows = make(map[string][]Flow)
	}
	for _, f := range flows {
		i := slices.IndexFunc(s.flows[bridge], func(g Flow) bool {
			return g.Table == f.Table && g.Priority == f.Priority && g.Match == f.Match
		})
		if i >= 0 {
			s.flows[bridge][i] = f
		} else {
			s.flows[bridge] = append(s.flows[bridge], f)
		}
	}
	return nil
}

// DelFlows forgets the flows of bridge with cookie.
func (s *Sim) DelFlows(ctx context.Context, bridge string, cookie uint64) error {
	unlock, err := s.flowBridge(ctx, bridge)
	if err != nil {
		return err
	}
	defer unlock()
	s.flows[bridge] = slices.DeleteFunc(s.flows[bridge], func(f Flow) bool { return f.Cookie == cookie })
	return nil
}

// Flows returns the recorded flows of bridge with cookie, in the order
// they were added.
func (s *Sim) Flows(ctx context.Context, bridge string, cookie uint64) ([]Flow, error) {
	unlock, err := s.flowBridge(ctx, bridge)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []Flow
	for _, f := range s.flows[bridge] {
		if f.Cookie == cookie {
			out = append(out, f)
		}
	}
	return out, nil
}

// flowBridge checks ctx and the bridge's name, locks the switch and checks
// that the bridge exists; the caller calls unlock. The check and the
// change are under one lock, so a bridge deleted meanwhile gets no flows.
func (s *Sim) flowBridge(ctx context.Context, bridge string) (unlock func(), err error) {
	unlock, err = s.enter(ctx, "bridge", bridge)
	if err != nil {
		return nil, fmt.Errorf("ovs: flows of %s: %w", bridge, err)
	}
	if _, ok := s.bridges[bridge]; !ok {
		unlock()
		return nil, fmt.Errorf("ovs: no bridge named %s: %w", bridge, errdefs.ErrNotFound)
	}
	return unlock, nil
}
