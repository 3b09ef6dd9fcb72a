package emu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestParseMessage(t *testing.T) {
	for line, want := range map[string]emu.Message{
		"suspend:":            {Kind: emu.KindSuspend},
		"prepare:xenguest":    {Kind: emu.KindPrepare, Arg: "xenguest"},
		"info:progress 5":     {Kind: emu.KindInfo, Arg: "progress 5"},
		"result:xenguest 1 2": {Kind: emu.KindResult, Arg: "xenguest 1 2"},
		"error:a: b":          {Kind: emu.KindError, Arg: "a: b"},
	} {
		m, err := emu.ParseMessage(line)
		require.NoError(t, err, line)
		require.Equal(t, want, m)
		require.Equal(t, line, m.String())
	}
	for _, line := range []string{"", "suspend", "done", "hello: world", "Result:x"} {
		_, err := emu.ParseMessage(line)
		require.ErrorIs(t, err, errdefs.ErrInvalid, line)
	}
}

func TestProgressOf(t *testing.T) {
	p, ok := emu.ProgressOf(emu.Progress(42))
	require.True(t, ok)
	require.InDelta(t, 0.42, p, 1e-9)
	for _, m := range []emu.Message{{Kind: emu.KindInfo, Arg: "progress 101"}, {Kind: emu.KindInfo, Arg: "hello"},
		{Kind: emu.KindResult, Arg: "progress 5"}, {Kind: emu.KindInfo, Arg: "progress x"}} {
		_, ok := emu.ProgressOf(m)
		require.False(t, ok, m.String())
	}
}

func TestXenguestResult(t *testing.T) {
	res := hypervisor.BuildResult{StoreGFN: 0xfeffc, StorePort: 3, ConsoleGFN: 0xfeffd, ConsolePort: 4}
	m := emu.XenguestResult(res)
	require.Equal(t, "result:xenguest 1044476 1044477 3 4", m.String())
	got, err := emu.ParseXenguestResult(m.Arg)
	require.NoError(t, err)
	require.Equal(t, res, got)
	for _, arg := range []string{"", "xenguest", "xenguest 1 2", "vgpu 1 2 3 4", "xenguest 1 2 3 x",
		"xenguest 1 2 3 4294967296", "xenguest -1 2 3 4"} {
		_, err := emu.ParseXenguestResult(arg)
		require.ErrorIs(t, err, errdefs.ErrInvalid, arg)
	}
}

func TestParseArgs(t *testing.T) {
	a := emu.Args{Mode: emu.ModeHVMSave, DomID: 7, ImageFD: 3, Hypervisor: "/run/hv.sock", Live: true, VGPU: true}
	got, err := emu.ParseArgs(a.Argv())
	require.NoError(t, err)
	a.ControlOutFD = 1
	require.Equal(t, a, got)

	got, err = emu.ParseArgs([]string{"-controlinfd", "5", "-controloutfd", "6", "-mode", "restore", "-domid", "2",
		"-image", "/i", "-hypervisor", "/s"})
	require.NoError(t, err)
	require.Equal(t, emu.Args{Mode: emu.ModeRestore, DomID: 2, Image: "/i", Hypervisor: "/s", ControlInFD: 5,
		ControlOutFD: 6}, got)
	require.False(t, got.Mode.Saving())

	// xenopsd's -dm: vgpu is an emulator with state in the image, qemu
	// is accepted and ignored.
	got, err = emu.ParseArgs([]string{"-mode", "hvm_save", "-domid", "2", "-fd", "3", "-hypervisor", "/s", "-dm", "qemu"})
	require.NoError(t, err)
	require.False(t, got.VGPU)
	got, err = emu.ParseArgs([]string{"-mode", "hvm_save", "-domid", "2", "-fd", "3", "-hypervisor", "/s", "-dm", "qemu",
		"-dm", "vgpu"})
	require.NoError(t, err)
	require.True(t, got.VGPU)

	base := []string{"-hypervisor", "/s"}
	for name, argv := range map[string][]string{
		"no mode":      {"-domid", "2", "-fd", "3"},
		"unknown dm":   {"-mode", "save", "-domid", "2", "-fd", "3", "-dm", "varstored"},
		"bad mode":     {"-mode", "migrate", "-domid", "2", "-fd", "3"},
		"dom0":         {"-mode", "save", "-domid", "0", "-fd", "3"},
		"no domid":     {"-mode", "save", "-fd", "3"},
		"reserved":     {"-mode", "save", "-domid", "32752", "-fd", "3"},
		"bad domid":    {"-mode", "save", "-domid", "x", "-fd", "3"},
		"no image":     {"-mode", "save", "-domid", "2"},
		"two images":   {"-mode", "save", "-domid", "2", "-fd", "3", "-image", "/i"},
		"unknown flag": {"-mode", "save", "-domid", "2", "-fd", "3", "-x"},
		"extra":        {"-mode", "save", "-domid", "2", "-fd", "3", "extra"},
	} {
		_, err := emu.ParseArgs(append(argv, base...))
		require.ErrorIs(t, err, errdefs.ErrInvalid, name)
	}
	_, err = emu.ParseArgs([]string{"-mode", "save", "-domid", "2", "-fd", "3"})
	require.ErrorIs(t, err, errdefs.ErrInvalid, "no hypervisor")
}
