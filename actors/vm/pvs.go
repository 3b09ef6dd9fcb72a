package vm

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/hostio/pvsproxy"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// keyPVSRulesActive is written in the VIF's private directory once its
// PVS rules are installed, as the reference's rules script announces
// them.
const keyPVSRulesActive = "pvs-rules-active"

// PVSProxy are the PVS-Accelerator settings of a VIF (xapi's PVS_proxy of
// the VIF): the PVS site's uuid, its servers, and the proxy's port on the
// VIF's bridge.
type PVSProxy struct {
	Site      string
	Servers   []PVSServer
	Interface string
}

// PVSServer is a PVS server: its IP addresses and its UDP ports, FirstPort
// to LastPort.
type PVSServer struct {
	Addresses []string
	FirstPort int
	LastPort  int
}

// settings converts p for hostio/pvsproxy.
func (p *PVSProxy) settings() pvsproxy.Settings {
	s := pvsproxy.Settings{Site: p.Site, Interface: p.Interface}
	for _, srv := range p.Servers {
		s.Servers = append(s.Servers, pvsproxy.Server{Addresses: srv.Addresses, FirstPort: srv.FirstPort,
			LastPort: srv.LastPort})
	}
	return s
}

// pvs returns the VIF's PVS settings, checked, and whether it has any. A
// VIF with PVS settings needs Config.PVSSwitch.
func (r worker) pvs(d device) (pvsproxy.Settings, bool, error) {
	if d.vif == nil || d.vif.PVS == nil {
		return pvsproxy.Settings{}, false, nil
	}
	if r.cfg.PVSSwitch == nil {
		return pvsproxy.Settings{}, true, fmt.Errorf("vm %s: %s: PVS proxy needs a switch with OpenFlow rules, "+
			"not configured (Config.PVSSwitch): %w", r.cfg.Spec.UUID, d, errdefs.ErrNotImplemented)
	}
	s := d.vif.PVS.settings()
	if err := s.Validate(); err != nil {
		return s, true, fmt.Errorf("vm %s: %s: %w", r.cfg.Spec.UUID, d, err)
	}
	return s, true, nil
}

// writePVSKeys writes the VIF's PVS keys in its private directory, with
// its MAC and bridge, which the proxy's rules are made from.
func writePVSKeys(ctx context.Context, tx *xenstore.Tx, d device) error {
	if d.vif == nil || d.vif.PVS == nil {
		return nil
	}
	keys := append(d.vif.PVS.settings().Keys(), [2]string{"mac", d.vif.MAC}, [2]string{"bridge", d.vif.Bridge})
	return tx.WriteKeys(ctx, d.PrivatePath(), keys)
}

// addPVSRules installs the OpenFlow rules that steer the VIF's PVS
// traffic to the proxy, once its port is on the bridge, and notes them
// active.
func (r worker) addPVSRules(ctx context.Context, d device) error {
	s, ok, err := r.pvs(d)
	if !ok || err != nil {
		return err
	}
	cookie := pvsproxy.Cookie(d.Frontend, d.DevID)
	flows, err := pvsproxy.Rules(pvsproxy.PortName(d.Frontend, d.DevID), d.vif.MAC, s, cookie)
	if err != nil {
		return fmt.Errorf("vm %s: %s: %w", r.cfg.Spec.UUID, d, err)
	}
	if err := r.cfg.PVSSwitch.AddFlows(ctx, d.vif.Bridge, flows); err != nil {
		return fmt.Errorf("vm %s: %s: PVS rules: %w", r.cfg.Spec.UUID, d, err)
	}
	if err := r.cfg.Xenstore.Write(ctx, d.PrivatePath()+"/"+keyPVSRulesActive, nil); err != nil {
		return fmt.Errorf("vm %s: %s: %w", r.cfg.Spec.UUID, d, err)
	}
	return nil
}

// delPVSRules removes the VIF's rules; none is fine.
func (r worker) delPVSRules(ctx context.Context, d device) error {
	if d.vif == nil || d.vif.PVS == nil || r.cfg.PVSSwitch == nil {
		return nil
	}
	err := r.cfg.PVSSwitch.DelFlows(ctx, d.vif.Bridge, pvsproxy.Cookie(d.Frontend, d.DevID))
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("vm %s: unplug %s: PVS rules: %w", r.cfg.Spec.UUID, d, err)
	}
	return nil
}
