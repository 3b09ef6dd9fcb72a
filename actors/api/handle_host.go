package api

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// hostInfo answers HostInfo: the host's identity and memory, and counts of
// its VMs and pending tasks.
func (s *server) hostInfo(ctx context.Context) (*messages.Response, error) {
	info := &messages.HostInfo{Hostname: s.cfg.Hostname, Version: Version, Hypervisor: s.cfg.Hypervisor,
		StartedUnixNano: s.cfg.Started.UnixNano()}
	vms, err := s.cfg.Host.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	info.Vms = uint32(len(vms))
	for _, v := range vms {
		if v.PowerState == vm.Running {
			info.VmsRunning++
		}
	}
	tc, err := s.tasks(ctx)
	if err != nil {
		return nil, err
	}
	list, err := tc.List(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		if t.State == tasks.Pending {
			info.TasksPending++
		}
	}
	ds, err := s.cfg.Host.Daemons(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		info.Daemons = append(info.Daemons, DaemonToProto(d))
	}
	if s.cfg.HostMemory != nil {
		if info.MemoryTotalKib, info.MemoryFreeKib, err = s.cfg.HostMemory(ctx); err != nil {
			return nil, err
		}
	}
	return &messages.Response{Result: &messages.Response_HostInfo{HostInfo: info}}, nil
}

// listVMs answers ListVMs.
func (s *server) listVMs(ctx context.Context) (*messages.Response, error) {
	vms, err := s.cfg.Host.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	list := &messages.VMList{Vms: make([]*messages.VMSummary, 0, len(vms))}
	for _, v := range vms {
		list.Vms = append(list.Vms, SummaryToProto(v))
	}
	return &messages.Response{Result: &messages.Response_Vms{Vms: list}}, nil
}

// listDaemons answers ListDaemons.
func (s *server) listDaemons(ctx context.Context) (*messages.Response, error) {
	ds, err := s.cfg.Host.Daemons(ctx)
	if err != nil {
		return nil, err
	}
	list := &messages.DaemonList{}
	for _, d := range ds {
		list.Daemons = append(list.Daemons, DaemonToProto(d))
	}
	return &messages.Response{Result: &messages.Response_Daemons{Daemons: list}}, nil
}

// resetDaemon answers ResetDaemon.
func (s *server) resetDaemon(ctx context.Context, req *messages.ResetDaemonRequest) (*messages.Response, error) {
	if req.GetName() == "" {
		return nil, fmt.Errorf("%w: ResetDaemon needs a daemon's name", errdefs.ErrInvalid)
	}
	if s.cfg.ResetDaemon == nil {
		return nil, fmt.Errorf("%w: this daemon cannot reset its host daemons", errdefs.ErrNotImplemented)
	}
	if err := s.cfg.ResetDaemon(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return empty(), nil
}
