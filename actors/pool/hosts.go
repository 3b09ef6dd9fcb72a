package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// liveTimeout bounds the live query of one member in Hosts and VMs: a
// member that does not answer in time is shown with its last report.
const liveTimeout = 5 * time.Second

// hostRecord is a host's last report in etcd.
type hostRecord struct {
	Name           string `json:"name"`
	Address        string `json:"address"`
	MigrateAddress string `json:"migrate_address,omitempty"`
	MemoryTotalKiB uint64 `json:"memory_total_kib"`
	MemoryFreeKiB  uint64 `json:"memory_free_kib"`
	VMs            uint32 `json:"vms"`
	VMsRunning     uint32 `json:"vms_running"`
	Reported       int64  `json:"reported_unix_nano"`
}

// report writes the host's figures and VMs to etcd every ReportInterval,
// when they changed, until the pool stops.
func (p *Pool) report() {
	defer p.wg.Done()
	var lastHost, lastVMs []byte
	t := time.NewTicker(p.cfg.ReportInterval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(p.stop, liveTimeout)
		h, vms, err := p.local(ctx)
		if err == nil {
			var hb, vb []byte
			rec := hostRecord{Name: p.cfg.Host, Address: p.Addr(), MigrateAddress: p.migrateAddr(),
				MemoryTotalKiB: h.GetMemoryTotalKib(),
				MemoryFreeKiB:  h.GetMemoryFreeKib(), VMs: h.GetVms(), VMsRunning: h.GetVmsRunning()}
			hb, err = json.Marshal(rec)
			if err == nil {
				vb, err = protojson.Marshal(&messages.VMList{Vms: vms})
			}
			if err == nil && !bytes.Equal(vb, lastVMs) {
				if err = p.cfg.Etcd.Put(ctx, p.key("vms", p.cfg.Host), vb, 0); err == nil {
					lastVMs = vb
				}
			}
			if err == nil && (!bytes.Equal(hb, lastHost) || lastHost == nil) {
				rec.Reported = time.Now().UnixNano()
				stamped, _ := json.Marshal(rec)
				if err = p.cfg.Etcd.Put(ctx, p.key("hosts", p.cfg.Host), stamped, 0); err == nil {
					lastHost = hb
				}
			}
		}
		cancel()
		if err != nil && p.stop.Err() == nil {
			p.log.Warn("pool: reporting the host", "err", err)
		}
		select {
		case <-p.stop.Done():
			return
		case <-t.C:
		}
	}
}

// local returns this host's figures and VMs from the local api actor.
func (p *Pool) local(ctx context.Context) (*messages.HostInfo, []*messages.VMSummary, error) {
	return p.query(ctx, p.cfg.Host)
}

// query returns a host's figures and VMs, asking it.
func (p *Pool) query(ctx context.Context, host string) (*messages.HostInfo, []*messages.VMSummary, error) {
	resp, err := p.Route(ctx, host, &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	if err == nil {
		err = respError(resp)
	}
	if err != nil {
		return nil, nil, err
	}
	info := resp.GetHostInfo()
	resp, err = p.Route(ctx, host, &messages.Request{Op: &messages.Request_ListVms{ListVms: &messages.ListVMsRequest{}}})
	if err == nil {
		err = respError(resp)
	}
	if err != nil {
		return nil, nil, err
	}
	return info, resp.GetVms().GetVms(), nil
}

// respError is the error a Response carries, nil if none.
func respError(resp *messages.Response) error {
	e := resp.GetError()
	if e == nil {
		return nil
	}
	if k := errdefs.FromKind(e.Kind); k != nil {
		return fmt.Errorf("%w: %s", k, e.Message)
	}
	return fmt.Errorf("%s", e.Message)
}

// records reads the hosts' last reports.
func (p *Pool) records(ctx context.Context) (map[string]hostRecord, error) {
	kvs, err := p.cfg.Etcd.Get(ctx, p.prefix("hosts"))
	if err != nil {
		return nil, fmt.Errorf("pool: etcd: %w", err)
	}
	out := map[string]hostRecord{}
	for _, kv := range kvs {
		var r hostRecord
		if json.Unmarshal(kv.Value, &r) == nil && r.Name != "" {
			out[r.Name] = r
		}
	}
	return out, nil
}

// knownHost reports whether host ever reported to the pool.
func (p *Pool) knownHost(ctx context.Context, host string) (bool, error) {
	kvs, err := p.cfg.Etcd.Get(ctx, p.key("hosts", host))
	if err != nil {
		return false, err
	}
	for _, kv := range kvs {
		if kv.Key == p.key("hosts", host) {
			return true, nil
		}
	}
	return false, nil
}

// hostState is what Hosts and VMs learn of one host.
type hostState struct {
	host *messages.PoolHost
	vms  []*messages.VMSummary
	// live says the figures and VMs come from the host now, not from its
	// last report.
	live bool
}

// survey asks every live member for its figures and VMs, in parallel, and
// takes the last report of the others (and of members that do not answer).
func (p *Pool) survey(ctx context.Context, withVMs bool) ([]hostState, error) {
	recs, err := p.records(ctx)
	if err != nil {
		return nil, err
	}
	live := p.provider.live()
	names := map[string]bool{}
	for h := range recs {
		names[h] = true
	}
	for h := range live {
		names[h] = true
	}
	states := make([]hostState, 0, len(names))
	for h := range names {
		rec := recs[h]
		ph := &messages.PoolHost{Name: h, Address: rec.Address, MemoryTotalKib: rec.MemoryTotalKiB,
			MemoryFreeKib: rec.MemoryFreeKiB, Vms: rec.VMs, VmsRunning: rec.VMsRunning, ReportedUnixNano: rec.Reported}
		if m, ok := live[h]; ok {
			ph.Up, ph.Address = true, m.address()
		}
		states = append(states, hostState{host: ph})
	}
	sort.Slice(states, func(i, j int) bool { return states[i].host.Name < states[j].host.Name })
	var wg sync.WaitGroup
	for i := range states {
		st := &states[i]
		if !st.host.Up {
			continue
		}
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, liveTimeout)
			defer cancel()
			info, vms, err := p.query(qctx, st.host.Name)
			if err != nil {
				p.log.Warn("pool: a member does not answer; showing its last report", "host", st.host.Name, "err", err)
				return
			}
			st.live = true
			st.host.MemoryTotalKib, st.host.MemoryFreeKib = info.GetMemoryTotalKib(), info.GetMemoryFreeKib()
			st.host.Vms, st.host.VmsRunning = info.GetVms(), info.GetVmsRunning()
			st.host.ReportedUnixNano = time.Now().UnixNano()
			st.vms = vms
		})
	}
	wg.Wait()
	if !withVMs {
		return states, nil
	}
	// A VM a host reports now is where it is: a down host's last report
	// (older) does not list it again.
	seen := map[string]bool{}
	for _, st := range states {
		for _, vm := range st.vms {
			seen[vm.GetSpec().GetUuid()] = true
		}
	}
	for i := range states {
		st := &states[i]
		if st.live {
			continue
		}
		vms, err := p.lastVMs(ctx, st.host.Name)
		if err != nil {
			return nil, err
		}
		for _, vm := range vms {
			if !seen[vm.GetSpec().GetUuid()] {
				st.vms = append(st.vms, vm)
			}
		}
	}
	return states, nil
}

// lastVMs returns the VMs host last reported, in power state unknown.
func (p *Pool) lastVMs(ctx context.Context, host string) ([]*messages.VMSummary, error) {
	kvs, err := p.cfg.Etcd.Get(ctx, p.key("vms", host))
	if err != nil {
		return nil, fmt.Errorf("pool: etcd: %w", err)
	}
	var out []*messages.VMSummary
	for _, kv := range kvs {
		if kv.Key != p.key("vms", host) {
			continue
		}
		var list messages.VMList
		if err := protojson.Unmarshal(kv.Value, &list); err != nil {
			return nil, fmt.Errorf("%w: pool: the VMs of %s in etcd: %v", errdefs.ErrUnavailable, host, err)
		}
		for _, vm := range list.GetVms() {
			vm.PowerState = messages.PowerState_POWER_STATE_UNKNOWN
			vm.Domid = 0
			out = append(out, vm)
		}
	}
	return out, nil
}

// Hosts lists the pool's hosts, up or down, by name. The figures of a host
// that is up are asked of it; a host that is down (or does not answer) has
// those of its last report.
func (p *Pool) Hosts(ctx context.Context) ([]*messages.PoolHost, error) {
	states, err := p.survey(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]*messages.PoolHost, len(states))
	for i, st := range states {
		out[i] = st.host
	}
	return out, nil
}

// VMs lists the VMs of every host of the pool with where they run, by host
// then name. The VMs of a host that is down are those it last reported, in
// power state unknown: they are never dropped.
func (p *Pool) VMs(ctx context.Context) ([]*messages.PoolVM, error) {
	states, err := p.survey(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []*messages.PoolVM
	for _, st := range states {
		vms := st.vms
		sort.SliceStable(vms, func(i, j int) bool {
			a, b := vms[i].GetSpec(), vms[j].GetSpec()
			if a.GetName() != b.GetName() {
				return a.GetName() < b.GetName()
			}
			return a.GetUuid() < b.GetUuid()
		})
		for _, vm := range vms {
			if !st.live {
				vm.PowerState = messages.PowerState_POWER_STATE_UNKNOWN
			}
			out = append(out, &messages.PoolVM{Host: st.host.Name, HostUp: st.host.Up && st.live, Vm: vm})
		}
	}
	return out, nil
}

// LeastLoaded returns the host that is up and has the most free memory (the
// first by name among equals).
func (p *Pool) LeastLoaded(ctx context.Context) (string, error) {
	hosts, err := p.Hosts(ctx)
	if err != nil {
		return "", err
	}
	best := ""
	var free uint64
	for _, h := range hosts {
		if !h.Up || h.ReportedUnixNano == 0 {
			continue
		}
		if best == "" || h.MemoryFreeKib > free {
			best, free = h.Name, h.MemoryFreeKib
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no pool host is up", errdefs.ErrUnavailable)
	}
	return best, nil
}
