package api

import (
	"fmt"
	"maps"
	"time"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// SpecFromProto converts a wire VMSpec to a vm.Spec. It checks only what the
// conversion itself needs (known enum values, devids that fit an int and are
// not negative); vm.Spec.Validate checks the rest. Errors wrap
// errdefs.ErrInvalid.
func SpecFromProto(p *messages.VMSpec) (vm.Spec, error) {
	if p == nil {
		return vm.Spec{}, fmt.Errorf("no spec: %w", errdefs.ErrInvalid)
	}
	typ, err := domainTypeFromProto(p.GetType())
	if err != nil {
		return vm.Spec{}, err
	}
	s := vm.Spec{UUID: p.GetUuid(), Name: p.GetName(), Type: typ, VCPUs: int(p.GetVcpus()),
		MemoryKiB: p.GetMemoryKib(), Kernel: p.GetKernel(), Ramdisk: p.GetRamdisk(), Cmdline: p.GetCmdline()}
	for _, a := range []struct {
		in  messages.Action
		out *vm.Action
	}{{p.GetOnShutdown(), &s.OnShutdown}, {p.GetOnReboot(), &s.OnReboot}, {p.GetOnCrash(), &s.OnCrash}} {
		if _, ok := messages.Action_name[int32(a.in)]; !ok {
			return vm.Spec{}, fmt.Errorf("action %d: %w", a.in, errdefs.ErrInvalid)
		}
		*a.out = vm.Action(a.in)
	}
	for _, v := range p.GetVbds() {
		vbd, err := VBDFromProto(v)
		if err != nil {
			return vm.Spec{}, err
		}
		s.VBDs = append(s.VBDs, vbd)
	}
	for _, v := range p.GetVifs() {
		vif, err := VIFFromProto(v)
		if err != nil {
			return vm.Spec{}, err
		}
		s.VIFs = append(s.VIFs, vif)
	}
	for _, d := range p.GetPcis() {
		if d == nil || d.Devid < 0 {
			return vm.Spec{}, fmt.Errorf("PCI devid %d is negative: %w", d.GetDevid(), errdefs.ErrInvalid)
		}
		s.PCIs = append(s.PCIs, vm.PCI{DevID: int(d.Devid), Address: d.Address, MSITranslate: d.MsiTranslate,
			PowerMgmt: d.PowerMgmt})
	}
	for _, d := range p.GetVgpus() {
		if d == nil || d.Devid < 0 {
			return vm.Spec{}, fmt.Errorf("VGPU devid %d is negative: %w", d.GetDevid(), errdefs.ErrInvalid)
		}
		s.VGPUs = append(s.VGPUs, vm.VGPU{DevID: int(d.Devid), Type: d.Type, PhysicalAddress: d.PhysicalAddress,
			UUID: d.Uuid})
	}
	for _, d := range p.GetVusbs() {
		if d == nil || d.Devid < 0 {
			return vm.Spec{}, fmt.Errorf("VUSB devid %d is negative: %w", d.GetDevid(), errdefs.ErrInvalid)
		}
		s.VUSBs = append(s.VUSBs, vm.VUSB{DevID: int(d.Devid), HostBus: int(d.HostBus), HostPort: d.HostPort,
			Path: d.Path, Version: d.Version})
	}
	return s, nil
}

// SpecToProto converts a vm.Spec to its wire form.
func SpecToProto(s vm.Spec) *messages.VMSpec {
	p := &messages.VMSpec{Uuid: s.UUID, Name: s.Name, Type: messages.DomainType(s.Type), Vcpus: uint32(s.VCPUs),
		MemoryKib: s.MemoryKiB, Kernel: s.Kernel, Ramdisk: s.Ramdisk, Cmdline: s.Cmdline, OnShutdown: messages.Action(s.OnShutdown),
		OnReboot: messages.Action(s.OnReboot), OnCrash: messages.Action(s.OnCrash)}
	for _, v := range s.VBDs {
		p.Vbds = append(p.Vbds, VBDToProto(v))
	}
	for _, v := range s.VIFs {
		p.Vifs = append(p.Vifs, VIFToProto(v))
	}
	p.Pcis = pcisToProto(s.PCIs)
	p.Vgpus = vgpusToProto(s.VGPUs)
	p.Vusbs = vusbsToProto(s.VUSBs)
	return p
}

func pcisToProto(in []vm.PCI) []*messages.PCI {
	var out []*messages.PCI
	for _, d := range in {
		out = append(out, &messages.PCI{Devid: int32(d.DevID), Address: d.Address, MsiTranslate: d.MSITranslate,
			PowerMgmt: d.PowerMgmt})
	}
	return out
}

func vgpusToProto(in []vm.VGPU) []*messages.VGPU {
	var out []*messages.VGPU
	for _, d := range in {
		out = append(out, &messages.VGPU{Devid: int32(d.DevID), Type: d.Type, PhysicalAddress: d.PhysicalAddress,
			Uuid: d.UUID})
	}
	return out
}

func vusbsToProto(in []vm.VUSB) []*messages.VUSB {
	var out []*messages.VUSB
	for _, d := range in {
		out = append(out, &messages.VUSB{Devid: int32(d.DevID), HostBus: int32(d.HostBus), HostPort: d.HostPort,
			Path: d.Path, Version: d.Version})
	}
	return out
}

// domainTypeFromProto maps the wire domain type; UNSPECIFIED maps to the zero
// hypervisor.DomainType, which vm.Spec.Validate rejects.
func domainTypeFromProto(t messages.DomainType) (hypervisor.DomainType, error) {
	if _, ok := messages.DomainType_name[int32(t)]; !ok {
		return 0, fmt.Errorf("domain type %d: %w", t, errdefs.ErrInvalid)
	}
	return hypervisor.DomainType(t), nil
}

// VBDFromProto converts a wire VBD; a missing VBD or a negative devid is
// errdefs.ErrInvalid.
func VBDFromProto(p *messages.VBD) (vm.VBD, error) {
	if p == nil {
		return vm.VBD{}, fmt.Errorf("no VBD: %w", errdefs.ErrInvalid)
	}
	if p.Devid < 0 {
		return vm.VBD{}, fmt.Errorf("VBD devid %d is negative: %w", p.Devid, errdefs.ErrInvalid)
	}
	return vm.VBD{DevID: int(p.Devid), Params: p.Params, ReadOnly: p.ReadOnly, VDI: p.Vdi}, nil
}

// VBDToProto converts a vm.VBD to its wire form.
func VBDToProto(v vm.VBD) *messages.VBD {
	return &messages.VBD{Devid: int32(v.DevID), Params: v.Params, ReadOnly: v.ReadOnly, Vdi: v.VDI}
}

// VIFFromProto converts a wire VIF; a missing VIF or a negative devid or
// port is errdefs.ErrInvalid.
func VIFFromProto(p *messages.VIF) (vm.VIF, error) {
	if p == nil {
		return vm.VIF{}, fmt.Errorf("no VIF: %w", errdefs.ErrInvalid)
	}
	if p.Devid < 0 {
		return vm.VIF{}, fmt.Errorf("VIF devid %d is negative: %w", p.Devid, errdefs.ErrInvalid)
	}
	v := vm.VIF{DevID: int(p.Devid), MAC: p.Mac, Bridge: p.Bridge, UUID: p.Uuid, Network: p.Network}
	if p.Pvs != nil {
		v.PVS = &vm.PVSProxy{Site: p.Pvs.Site, Interface: p.Pvs.Interface}
		for _, s := range p.Pvs.Servers {
			if s == nil || s.FirstPort < 0 || s.LastPort < 0 {
				return vm.VIF{}, fmt.Errorf("VIF %d: bad PVS server: %w", p.Devid, errdefs.ErrInvalid)
			}
			v.PVS.Servers = append(v.PVS.Servers, vm.PVSServer{Addresses: s.Addresses,
				FirstPort: int(s.FirstPort), LastPort: int(s.LastPort)})
		}
	}
	return v, nil
}

// VIFToProto converts a vm.VIF to its wire form.
func VIFToProto(v vm.VIF) *messages.VIF {
	p := &messages.VIF{Devid: int32(v.DevID), Mac: v.MAC, Bridge: v.Bridge, Uuid: v.UUID, Network: v.Network}
	if v.PVS != nil {
		p.Pvs = &messages.PVSProxy{Site: v.PVS.Site, Interface: v.PVS.Interface}
		for _, s := range v.PVS.Servers {
			p.Pvs.Servers = append(p.Pvs.Servers, &messages.PVSServer{Addresses: s.Addresses,
				FirstPort: int32(s.FirstPort), LastPort: int32(s.LastPort)})
		}
	}
	return p
}

// ErrorToProto converts err to its wire form: its errdefs kind and message;
// nil for nil.
func ErrorToProto(err error) *messages.Error {
	if err == nil {
		return nil
	}
	return &messages.Error{Kind: errdefs.Kind(err), Message: err.Error()}
}

// StatusToProto converts a VM's status to its wire form. The spec holds only
// the passed-through devices, which are all VMStatus carries of it.
func StatusToProto(st *vm.VMStatus) *messages.VMStatus {
	p := &messages.VMStatus{Uuid: st.UUID, PowerState: messages.PowerState(st.PowerState),
		Domid: uint32(st.DomID), Error: ErrorToProto(st.Err), LastError: ErrorToProto(st.LastError),
		CrashLoop: st.CrashLoop, SuspendImage: st.SuspendImage}
	for _, d := range st.Devices {
		p.Devices = append(p.Devices, &messages.DeviceStatus{Class: d.Class, Devid: int32(d.DevID),
			BackendState: d.BackendState.String(), FrontendState: d.FrontendState.String()})
	}
	if st.Guest != nil {
		p.Guest = GuestToProto(*st.Guest)
	}
	for _, f := range st.DaemonFaults {
		p.DaemonFaults = append(p.DaemonFaults, &messages.DaemonFault{Name: f.Name, Error: f.Err})
	}
	if len(st.PCIs)+len(st.VGPUs)+len(st.VUSBs) > 0 {
		p.Spec = &messages.VMSpec{Uuid: st.UUID, Pcis: pcisToProto(st.PCIs), Vgpus: vgpusToProto(st.VGPUs),
			Vusbs: vusbsToProto(st.VUSBs)}
	}
	return p
}

// SummaryToProto converts one VM of the host's list to its wire form.
func SummaryToProto(i host.VMInfo) *messages.VMSummary {
	return &messages.VMSummary{Spec: SpecToProto(i.Spec), PowerState: messages.PowerState(i.PowerState),
		Domid: uint32(i.DomID), Error: ErrorToProto(i.Err)}
}

// GuestToProto converts guest metrics to their wire form. Volumes, the
// truncation notes and the read's cost are not carried.
func GuestToProto(m guest.GuestMetrics) *messages.GuestMetrics {
	p := &messages.GuestMetrics{OsName: m.OS.Name, OsUname: m.OS.Uname, OsDistro: m.OS.Distro,
		OsMajor: int32(m.OS.Major), OsMinor: int32(m.OS.Minor), PvDriversInstalled: m.PVDrivers.Installed,
		PvDriversVersion: m.PVDrivers.Version(), MemoryTotalKib: m.Memory.TotalKiB,
		MemoryFreeKib: m.Memory.FreeKiB, MemoryTargetKib: m.Memory.TargetKiB, UpdatedUnixNano: unixNano(m.Updated)}
	for _, f := range []struct {
		on   bool
		name string
	}{{m.Features.Poweroff, "poweroff"}, {m.Features.Reboot, "reboot"}, {m.Features.Suspend, "suspend"},
		{m.Features.Balloon, "balloon"}} {
		if f.on {
			p.Features = append(p.Features, f.name)
		}
	}
	if len(m.Networks) > 0 {
		p.Networks = make(map[int32]*messages.GuestNetwork, len(m.Networks))
		for id, n := range m.Networks {
			p.Networks[int32(id)] = &messages.GuestNetwork{Ipv4: n.IPv4, Ipv6: n.IPv6}
		}
	}
	if len(m.Other) > 0 {
		p.Other = make(map[string]string, len(m.Other))
		for k, v := range m.Other {
			p.Other[k] = v
		}
	}
	return p
}

// TaskToProto converts a task snapshot to its wire form.
func TaskToProto(t tasks.Task) *messages.Task {
	p := &messages.Task{Id: t.ID, Kind: t.Kind, Subject: t.Subject, State: messages.TaskState(t.State),
		Progress: t.Progress, Result: t.Result, Cancelling: t.Cancelling, CreatedUnixNano: unixNano(t.Created),
		FinishedUnixNano: unixNano(t.Finished), DurationNanos: int64(t.Duration), Detail: maps.Clone(t.Detail)}
	if t.State == tasks.Failed {
		p.Error = &messages.Error{Kind: t.ErrorKind, Message: t.Error}
	}
	return p
}

// TaskFromProto converts a wire task back to a snapshot.
func TaskFromProto(p *messages.Task) tasks.Task {
	t := tasks.Task{ID: p.GetId(), Kind: p.GetKind(), Subject: p.GetSubject(), State: tasks.State(p.GetState()),
		Progress: p.GetProgress(), Result: p.GetResult(), Cancelling: p.GetCancelling(),
		Created: fromUnixNano(p.GetCreatedUnixNano()), Finished: fromUnixNano(p.GetFinishedUnixNano()),
		Duration: time.Duration(p.GetDurationNanos()), Detail: maps.Clone(p.GetDetail())}
	if e := p.GetError(); e != nil {
		t.Error, t.ErrorKind = e.Message, e.Kind
	}
	return t
}

// DaemonToProto converts a daemon's status to its wire form.
func DaemonToProto(s daemons.Status) *messages.DaemonStatus {
	p := &messages.DaemonStatus{Name: s.Name, State: string(s.State), Pid: int32(s.Pid), Adopted: s.Adopted,
		Restarts: int32(s.Restarts)}
	if s.LastErr != nil {
		p.LastError = s.LastErr.Error()
	}
	return p
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
