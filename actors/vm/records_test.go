package vm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestParseBDF(t *testing.T) {
	for in, want := range map[string]vm.BDF{
		"0000:03:00.0": {Bus: 3},
		"03:00.0":      {Bus: 3},
		"0001:ff:1f.7": {Domain: 1, Bus: 0xff, Device: 0x1f, Function: 7},
		"abcd:0A:1b.3": {Domain: 0xabcd, Bus: 0x0a, Device: 0x1b, Function: 3},
	} {
		got, err := vm.ParseBDF(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	require.Equal(t, "0000:03:00.0", vm.BDF{Bus: 3}.String())
	for _, in := range []string{"", "03:00", "0000:03:00", "0000:03:20.0", "0000:03:00.8", "00000:03:00.0",
		"0000:3:00.0", "0000:03:0.0", "0000:03:00.00", "0000:0g:00.0", "0:0000:03:00.0", "0000:03:00.-1",
		"+000:03:00.0"} {
		_, err := vm.ParseBDF(in)
		require.ErrorIs(t, err, errdefs.ErrInvalid, "%q", in)
	}
}

// validSpec has one device of every kind.
func validSpec() vm.Spec {
	s := newSpec("sim:linux")
	s.PCIs = []vm.PCI{{DevID: 0, Address: "0000:03:00.0", MSITranslate: true}, {DevID: 1, Address: "04:00.1"}}
	s.VGPUs = []vm.VGPU{{DevID: 0, Type: "GRID T4-2Q", PhysicalAddress: "0000:81:00.0",
		UUID: "6b2f0e4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"}}
	s.VUSBs = []vm.VUSB{{DevID: 0, HostBus: 2, HostPort: "1.3", Version: "2.0"}, {DevID: 1, Path: "3-2"}}
	return s
}

func TestSpec_Validate(t *testing.T) {
	require.NoError(t, validSpec().Validate())
	require.NoError(t, newSpec("sim:linux").Validate())

	for name, c := range map[string]struct {
		mutate func(*vm.Spec)
		msg    string
	}{
		"bad uuid":          {func(s *vm.Spec) { s.UUID = "vm-1" }, "8-4-4-4-12"},
		"no type":           {func(s *vm.Spec) { s.Type = 0 }, "domain type"},
		"no vcpus":          {func(s *vm.Spec) { s.VCPUs = 0 }, "vCPUs"},
		"no memory":         {func(s *vm.Spec) { s.MemoryKiB = 0 }, "no memory"},
		"long cmdline":      {func(s *vm.Spec) { s.Cmdline = strings.Repeat("x", vm.MaxCmdline+1) }, "longer than Xen's 1024"},
		"NUL in cmdline":    {func(s *vm.Spec) { s.Cmdline = "a\x00b" }, "NUL byte"},
		"ramdisk no kernel": {func(s *vm.Spec) { s.Kernel, s.Ramdisk = "", "/initrd" }, "ramdisk without a kernel"},
		"duplicate VBD":     {func(s *vm.Spec) { s.VBDs = append(s.VBDs, vm.VBD{DevID: 51712, Params: "/dev/x"}) }, "duplicate VBD devid 51712"},
		"VBD devid 0":       {func(s *vm.Spec) { s.VBDs[0].DevID = 0 }, "not a virtual device number"},
		"VBD without disk":  {func(s *vm.Spec) { s.VBDs[0].Params = " " }, "no disk"},
		"duplicate VIF":     {func(s *vm.Spec) { s.VIFs = append(s.VIFs, vm.VIF{MAC: "00:16:3e:00:00:02"}) }, "duplicate VIF devid 0"},
		"duplicate MAC":     {func(s *vm.Spec) { s.VIFs = append(s.VIFs, vm.VIF{DevID: 1, MAC: "00:16:3E:00:00:01"}) }, "same MAC"},
		"malformed MAC":     {func(s *vm.Spec) { s.VIFs[0].MAC = "00:16:3e:00:01" }, "not six colon-separated"},
		"dashed MAC":        {func(s *vm.Spec) { s.VIFs[0].MAC = "00-16-3e-00-00-01" }, "not six colon-separated"},
		"no MAC":            {func(s *vm.Spec) { s.VIFs[0].MAC = "" }, "not six colon-separated"},
		"multicast MAC":     {func(s *vm.Spec) { s.VIFs[0].MAC = "01:16:3e:00:00:01" }, "multicast"},
		"negative VIF":      {func(s *vm.Spec) { s.VIFs[0].DevID = -1 }, "negative"},
		"bad BDF":           {func(s *vm.Spec) { s.PCIs[0].Address = "0000:03:00" }, "PCI 0"},
		"device beyond 1f":  {func(s *vm.Spec) { s.PCIs[0].Address = "0000:03:20.0" }, "out of range"},
		"same PCI twice":    {func(s *vm.Spec) { s.PCIs[1].Address = "03:00.0" }, "both pass through 0000:03:00.0"},
		"duplicate PCI id":  {func(s *vm.Spec) { s.PCIs[1].DevID = 0 }, "duplicate PCI devid 0"},
		"VGPU without type": {func(s *vm.Spec) { s.VGPUs[0].Type = "" }, "no type"},
		"VGPU bad GPU":      {func(s *vm.Spec) { s.VGPUs[0].PhysicalAddress = "81:00" }, "physical GPU"},
		"VGPU on a PCI":     {func(s *vm.Spec) { s.VGPUs[0].PhysicalAddress = "0000:04:00.1" }, "passes through whole"},
		"VGPU bad uuid":     {func(s *vm.Spec) { s.VGPUs[0].UUID = "nope" }, "VGPU 0"},
		"VGPU same uuid": {func(s *vm.Spec) {
			g := s.VGPUs[0]
			g.DevID = 1
			s.VGPUs = append(s.VGPUs, g)
		}, "used twice"},
		"VUSB both forms":   {func(s *vm.Spec) { s.VUSBs[1].HostPort = "1" }, "not both"},
		"VUSB no port":      {func(s *vm.Spec) { s.VUSBs[0].HostPort = "" }, "no HostPort or Path"},
		"VUSB bad path":     {func(s *vm.Spec) { s.VUSBs[1].Path = "3:2" }, "not bus-port"},
		"VUSB bus 0":        {func(s *vm.Spec) { s.VUSBs[0].HostBus = 0 }, "host bus 0"},
		"VUSB bad port":     {func(s *vm.Spec) { s.VUSBs[0].HostPort = "1..3" }, "port numbers"},
		"VUSB deep port":    {func(s *vm.Spec) { s.VUSBs[0].HostPort = "1.1.1.1.1.1.1.1" }, "7 tiers"},
		"VUSB same device":  {func(s *vm.Spec) { s.VUSBs[1].Path = "2-1.3" }, "both the host's 2-1.3"},
		"VUSB bad version":  {func(s *vm.Spec) { s.VUSBs[0].Version = "4" }, "USB version"},
		"duplicate VUSB id": {func(s *vm.Spec) { s.VUSBs[1].DevID = 0 }, "duplicate VUSB devid 0"},
	} {
		t.Run(name, func(t *testing.T) {
			s := validSpec()
			c.mutate(&s)
			err := s.Validate()
			require.ErrorIs(t, err, errdefs.ErrInvalid)
			require.Contains(t, err.Error(), c.msg)
		})
	}
}

// A VM with passed-through devices does not start without them: the start
// fails at once, before any domain is made. StatVM lists the records.
func TestVMActor_Start_RefusesPassthrough(t *testing.T) {
	for name, c := range map[string]struct {
		mutate func(*vm.Spec)
		msg    string
	}{
		"pci":  {func(s *vm.Spec) { s.VGPUs, s.VUSBs = nil, nil }, "PCI passthrough needs the device-model daemon, not available yet"},
		"vgpu": {func(s *vm.Spec) { s.PCIs, s.VUSBs = nil, nil }, "vGPUs need the vGPU emulator (DEMU), not configured"},
		"vusb": {func(s *vm.Spec) { s.PCIs, s.VGPUs = nil, nil }, "USB passthrough needs the device-model daemon"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			spec := validSpec()
			c.mutate(&spec)
			vmc := e.spawnVM(t, spec, nil)
			ctx := ctxFor(t)

			id, err := vmc.Start(ctx, false)
			require.NoError(t, err)
			task := e.wait(t, id)
			require.Equal(t, tasks.Failed, task.State)
			require.Equal(t, "not_implemented", task.ErrorKind, task.Error)
			require.Contains(t, task.Error, c.msg)
			e.requireNothingLeft(t)

			st, err := vmc.Stat(ctx)
			require.NoError(t, err)
			require.Equal(t, vm.Halted, st.PowerState)
			require.Equal(t, spec.PCIs, st.PCIs)
			require.Equal(t, spec.VGPUs, st.VGPUs)
			require.Equal(t, spec.VUSBs, st.VUSBs)
		})
	}
}

func TestVMActor_Start_RefusesInvalidSpec(t *testing.T) {
	e := newEnv(t)
	spec := newSpec("sim:linux")
	spec.VIFs[0].MAC = "not a mac"
	c := e.spawnVM(t, spec, nil)
	id, err := c.Start(ctxFor(t), false)
	require.NoError(t, err)
	task := e.wait(t, id)
	require.Equal(t, tasks.Failed, task.State)
	require.Equal(t, "invalid", task.ErrorKind)
	require.Contains(t, task.Error, "MAC")
	e.requireNothingLeft(t)
}

// A hot-plug of a malformed device is refused and the spec keeps its
// devices.
func TestVMActor_Hotplug_RefusesInvalidDevices(t *testing.T) {
	e := newEnv(t)
	c := e.spawnVM(t, newSpec("sim:linux"), nil)
	ctx := ctxFor(t)
	for name, plug := range map[string]func() (string, error){
		"same MAC":    func() (string, error) { return c.PlugVIF(ctx, vm.VIF{DevID: 1, MAC: "00:16:3e:00:00:01"}) },
		"bad MAC":     func() (string, error) { return c.PlugVIF(ctx, vm.VIF{DevID: 1, MAC: "00:16:3e"}) },
		"VBD devid 0": func() (string, error) { return c.PlugVBD(ctx, vm.VBD{DevID: 0, Params: "/dev/loop1"}) },
	} {
		id, err := plug()
		require.NoError(t, err, name)
		task := e.wait(t, id)
		require.Equal(t, tasks.Failed, task.State, name)
		require.Equal(t, "invalid", task.ErrorKind, "%s: %s", name, task.Error)
	}
	id, err := c.Start(ctx, true)
	e.succeed(t, id, err)
	st, err := c.Stat(ctx)
	require.NoError(t, err)
	require.Len(t, st.Devices, 2, "the refused devices are not in the spec")
	id, err = c.Destroy(ctx)
	e.succeed(t, id, err)
	e.requireNothingLeft(t)
}
