package api_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/guest"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/xenbus"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// fullSpec is a wire spec with every field set.
func fullSpec() *messages.VMSpec {
	return &messages.VMSpec{Uuid: newUUID(), Name: "full", Type: messages.DomainType_DOMAIN_TYPE_HVM, Vcpus: 4,
		MemoryKib: 1 << 20, Kernel: "sim:linux", Ramdisk: "/guest/initrd", Cmdline: "console=hvc0 quiet",
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0", ReadOnly: true},
			{Devid: 51728, Vdi: "sr1/key"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:00:00:01", Bridge: "xenbr0", Uuid: newUUID(),
			Network: newUUID(), Pvs: &messages.PVSProxy{Site: newUUID(), Interface: "pvs0",
				Servers: []*messages.PVSServer{{Addresses: []string{"10.0.0.1", "10.0.0.2"}, FirstPort: 6890,
					LastPort: 6909}}}}},
		Pcis:       []*messages.PCI{{Devid: 1, Address: "0000:03:00.0", MsiTranslate: true, PowerMgmt: true}},
		Vgpus:      []*messages.VGPU{{Devid: 0, Type: "GRID T4-2Q", PhysicalAddress: "0000:04:00.0", Uuid: newUUID()}},
		Vusbs:      []*messages.VUSB{{Devid: 0, HostBus: 2, HostPort: "1.3", Path: "2-1.3", Version: "3.0"}},
		OnShutdown: messages.Action_ACTION_DESTROY, OnReboot: messages.Action_ACTION_RESTART,
		OnCrash: messages.Action_ACTION_PRESERVE}
}

func TestConvert_SpecRoundTrip(t *testing.T) {
	p := fullSpec()
	s, err := api.SpecFromProto(p)
	require.NoError(t, err)
	require.Equal(t, vm.ActionPreserve, s.OnCrash)
	require.Equal(t, 6909, s.VIFs[0].PVS.Servers[0].LastPort)
	require.Equal(t, "GRID T4-2Q", s.VGPUs[0].Type)
	require.True(t, proto.Equal(p, api.SpecToProto(s)), "wire -> Go -> wire")
	back, err := api.SpecFromProto(api.SpecToProto(s))
	require.NoError(t, err)
	require.Equal(t, s, back, "Go -> wire -> Go")
}

func TestConvert_SpecRejects(t *testing.T) {
	for name, mutate := range map[string]func(*messages.VMSpec){
		"domain type": func(p *messages.VMSpec) { p.Type = 9 },
		"on_reboot":   func(p *messages.VMSpec) { p.OnReboot = 7 },
		"VBD devid":   func(p *messages.VMSpec) { p.Vbds[0].Devid = -2 },
		"nil VBD":     func(p *messages.VMSpec) { p.Vbds[0] = nil },
		"VIF devid":   func(p *messages.VMSpec) { p.Vifs[0].Devid = -1 },
		"PVS port":    func(p *messages.VMSpec) { p.Vifs[0].Pvs.Servers[0].FirstPort = -1 },
		"PCI devid":   func(p *messages.VMSpec) { p.Pcis[0].Devid = -1 },
		"VGPU devid":  func(p *messages.VMSpec) { p.Vgpus[0].Devid = -1 },
		"VUSB devid":  func(p *messages.VMSpec) { p.Vusbs[0].Devid = -1 },
	} {
		p := fullSpec()
		mutate(p)
		_, err := api.SpecFromProto(p)
		require.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
	_, err := api.SpecFromProto(nil)
	require.True(t, errdefs.IsInvalid(err))
}

func TestConvert_TaskRoundTrip(t *testing.T) {
	now := time.Now()
	for _, task := range []tasks.Task{
		{ID: "t1", Kind: "VM.start", Subject: "u", State: tasks.Completed, Progress: 1, Result: []byte(`{}`),
			Created: now, Finished: now.Add(time.Second), Duration: time.Second},
		{ID: "t2", Kind: "VM.shutdown", State: tasks.Failed, Error: "cancelled", ErrorKind: "canceled",
			Cancelling: true, Created: now, Finished: now, Duration: 1},
		{ID: "t3", Kind: "VM.reboot", State: tasks.Pending, Progress: 0.5, Created: now},
	} {
		got := api.TaskFromProto(api.TaskToProto(task))
		require.True(t, task.Created.Equal(got.Created))
		require.True(t, task.Finished.Equal(got.Finished))
		got.Created, got.Finished = task.Created, task.Finished
		require.Equal(t, task, got)
	}
	p := api.TaskToProto(tasks.Task{State: tasks.Failed, Error: "gone", ErrorKind: "not_found"})
	require.Equal(t, &messages.Error{Kind: "not_found", Message: "gone"}, p.Error)
}

func TestConvert_Status(t *testing.T) {
	st := &vm.VMStatus{UUID: "u", PowerState: vm.Suspended, DomID: 7, SuspendImage: "/s.img",
		Err: fmt.Errorf("read: %w", errdefs.ErrTimeout), LastError: errors.New("plain"), CrashLoop: true,
		Devices: []vm.DeviceStatus{{Class: "vbd", DevID: 51712, BackendState: xenbus.StateConnected,
			FrontendState: xenbus.StateClosing}},
		Guest: &guest.GuestMetrics{OS: guest.OS{Name: "Linux", Uname: "6.1", Distro: "debian", Major: 12, Minor: 1},
			PVDrivers: guest.PVDrivers{Installed: true, Major: 1, Minor: 2, Micro: 3, Build: 4},
			Features:  guest.Features{Poweroff: true, Suspend: true},
			Memory:    guest.Memory{TotalKiB: 100, FreeKiB: 50, TargetKiB: 90},
			Networks:  map[int]guest.Network{0: {IPv4: []string{"10.0.0.5"}, IPv6: []string{"fe80::1"}}},
			Other:     map[string]string{"data/x": "y"}, Updated: time.Unix(0, 99)},
		PCIs:         []vm.PCI{{DevID: 1, Address: "03:00.0"}},
		DaemonFaults: []vm.DaemonFault{{Name: "ovs-vswitchd", Err: "exited 1"}}}
	p := api.StatusToProto(st)
	want := &messages.VMStatus{Uuid: "u", PowerState: messages.PowerState_POWER_STATE_SUSPENDED, Domid: 7,
		SuspendImage: "/s.img", Error: &messages.Error{Kind: "timeout", Message: "read: timed out"},
		LastError: &messages.Error{Message: "plain"}, CrashLoop: true,
		Devices: []*messages.DeviceStatus{{Class: "vbd", Devid: 51712, BackendState: "Connected",
			FrontendState: "Closing"}},
		Guest: &messages.GuestMetrics{OsName: "Linux", OsUname: "6.1", OsDistro: "debian", OsMajor: 12, OsMinor: 1,
			PvDriversInstalled: true, PvDriversVersion: "1.2.3-4", Features: []string{"poweroff", "suspend"},
			MemoryTotalKib: 100, MemoryFreeKib: 50, MemoryTargetKib: 90,
			Networks: map[int32]*messages.GuestNetwork{0: {Ipv4: []string{"10.0.0.5"}, Ipv6: []string{"fe80::1"}}},
			Other:    map[string]string{"data/x": "y"}, UpdatedUnixNano: 99},
		Spec:         &messages.VMSpec{Uuid: "u", Pcis: []*messages.PCI{{Devid: 1, Address: "03:00.0"}}},
		DaemonFaults: []*messages.DaemonFault{{Name: "ovs-vswitchd", Error: "exited 1"}}}
	require.True(t, proto.Equal(want, p), "got %v", p)
}

func TestConvert_Daemon(t *testing.T) {
	p := api.DaemonToProto(daemons.Status{Name: "ovs-vswitchd", State: daemons.StateBackoff, Pid: 9, Adopted: true,
		Restarts: 2, LastErr: errors.New("exited 1")})
	require.True(t, proto.Equal(&messages.DaemonStatus{Name: "ovs-vswitchd", State: "backoff", Pid: 9, Adopted: true,
		Restarts: 2, LastError: "exited 1"}, p))
}
