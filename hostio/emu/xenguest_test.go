package emu_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// buildArgs are valid arguments of a build.
func buildArgs() emu.BuildArgs {
	return emu.BuildArgs{Mode: emu.ModeHVMBuild, DomID: 7, MemMaxMiB: 128, MemStartMiB: 64, Image: "/boot/hvmloader",
		Cmdline: "console=hvc0 quiet", StoreDomID: 0, ConsoleDomID: 0, Hypervisor: "/run/hv.sock", ControlOutFD: 1}
}

func TestBuildArgs_RoundTrip(t *testing.T) {
	a := buildArgs()
	got, err := emu.ParseBuildArgs(a.Argv())
	require.NoError(t, err)
	require.Equal(t, a, got)
	require.Equal(t, hypervisor.BuildConfig{Kernel: "/boot/hvmloader", Cmdline: "console=hvc0 quiet",
		MemoryKiB: 64 << 10, TargetKiB: 64 << 10}, got.BuildConfig())

	// xenopsd's port arguments are accepted.
	got, err = emu.ParseBuildArgs(append(a.Argv(), "-store_port", "5", "-console_port", "6", "-controloutfd", "9"))
	require.NoError(t, err)
	require.Equal(t, uint32(5), got.StorePort)
	require.Equal(t, uint32(6), got.ConsolePort)
	require.Equal(t, 9, got.ControlOutFD)
}

func TestParseBuildArgs_Bad(t *testing.T) {
	set := func(flag, v string) []string {
		argv := buildArgs().Argv()
		for i := range argv {
			if argv[i] == flag {
				argv[i+1] = v
			}
		}
		return argv
	}
	for name, argv := range map[string][]string{
		"mode":         set("-mode", "save"),
		"domid 0":      set("-domid", "0"),
		"domid big":    set("-domid", "32752"),
		"no memory":    set("-mem_start_mib", "0"),
		"over max":     set("-mem_start_mib", "129"),
		"no image":     set("-image", ""),
		"port":         set("-store_port", "4294967296"),
		"store domid":  set("-store_domid", "-1"),
		"no socket":    set("-hypervisor", ""),
		"extra":        append(buildArgs().Argv(), "x"),
		"unknown flag": append(buildArgs().Argv(), "-fd", "3"),
	} {
		_, err := emu.ParseBuildArgs(argv)
		require.ErrorIs(t, err, errdefs.ErrInvalid, name)
	}
}

func TestBuildModeOf(t *testing.T) {
	require.Equal(t, emu.ModePVBuild, emu.BuildModeOf(hypervisor.DomainTypePV))
	require.Equal(t, emu.ModePVHBuild, emu.BuildModeOf(hypervisor.DomainTypePVH))
	require.Equal(t, emu.ModeHVMBuild, emu.BuildModeOf(hypervisor.DomainTypeHVM))
}

func TestBuildResult_RoundTrip(t *testing.T) {
	res := hypervisor.BuildResult{StoreGFN: 1 << 40, ConsoleGFN: 12, StorePort: 3, ConsolePort: 4}
	m := emu.BuildResultMessage(res)
	require.Equal(t, "result:1099511627776 12 3 4", m.String())
	got, err := emu.ParseBuildResult(m.Arg)
	require.NoError(t, err)
	require.Equal(t, res, got)
	for _, arg := range []string{"", "1 2", "1 2 3", "xenguest 1 2 3 4", "1 2 3 4 5", "1 2 3 x", "1 2 4294967296 4"} {
		_, err := emu.ParseBuildResult(arg)
		require.ErrorIs(t, err, errdefs.ErrInvalid, arg)
	}
}

// build runs a script as the builder with short timeouts, and requires
// that nothing of its process group is left when Build returns.
func build(t *testing.T, body string) error {
	t.Helper()
	dir := t.TempDir()
	path := emutest.Script(t, dir, "xenguest", body)
	_, err := emu.Build(context.Background(), emu.BuildRun{Path: path, Args: buildArgs(),
		Timeout: 300 * time.Millisecond, AbortGrace: 200 * time.Millisecond})
	pid := emutest.ScriptPID(path)
	require.NotZero(t, pid, "the script ran")
	require.Eventually(t, func() bool { return !emutest.GroupAlive(pid) }, 5*time.Second, 5*time.Millisecond,
		"a process of the builder's group is left")
	return err
}

func TestBuild(t *testing.T) {
	var infos []emu.Message
	dir := t.TempDir()
	path := emutest.Script(t, dir, "xenguest", `echo "$*" > args; echo info:progress 50; echo result:10 11 12 13`)
	res, err := emu.Build(context.Background(), emu.BuildRun{Path: path, Args: buildArgs(),
		Timeout: time.Second, OnInfo: func(m emu.Message) { infos = append(infos, m) }})
	require.NoError(t, err)
	require.Equal(t, hypervisor.BuildResult{StoreGFN: 10, ConsoleGFN: 11, StorePort: 12, ConsolePort: 13}, res)
	require.Equal(t, []emu.Message{emu.Progress(50)}, infos)
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	require.Equal(t, strings.Join(buildArgs().Argv(), " ")+"\n", string(b))
}

// The hostile builders: each fails the build with a clear error and its
// kind, and is gone.
func TestBuild_HostileHelpers(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		kind error
		msg  string
	}{
		"exits at once":      {"exit 3", errdefs.ErrUnavailable, "xenguest hvm_build (pid "},
		"stderr":             {"echo out of memory >&2; exit 1", errdefs.ErrUnavailable, "stderr: out of memory"},
		"exits 0":            {"exit 0", errdefs.ErrInvalid, "exited 0 without a result"},
		"never prints":       {"sleep 600 & wait", errdefs.ErrTimeout, "nor progress within 300ms"},
		"garbage":            {"echo hello; exec sleep 600", errdefs.ErrInvalid, `not a protocol line: "hello"`},
		"error":              {"echo error:no memory; exit 1", errdefs.ErrUnavailable, "failed: no memory"},
		"suspend:":           {"echo suspend:; exec sleep 600", errdefs.ErrInvalid, "expected result"},
		"bad result":         {"echo result:xenguest 1 2; exit 0", errdefs.ErrInvalid, "want <store gfn>"},
		"hangs at result":    {"echo result:1 2 3 4; exec sleep 600", errdefs.ErrTimeout, "did not exit"},
		"fails after result": {"echo result:1 2 3 4; exit 3", errdefs.ErrUnavailable, "exit status 3"},
	} {
		t.Run(name, func(t *testing.T) {
			err := build(t, c.body)
			require.ErrorIs(t, err, c.kind)
			require.Contains(t, err.Error(), c.msg)
		})
	}
}

// A cancelled build sends abort to the builder.
func TestBuild_Cancel(t *testing.T) {
	dir := t.TempDir()
	path := emutest.Script(t, dir, "xenguest", `echo info:progress 1; read x; echo "$x" > got; exit 1`)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := emu.Build(ctx, emu.BuildRun{Path: path, Args: buildArgs(), Timeout: time.Minute,
		OnInfo: func(emu.Message) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, res)
	got, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "abort\n", string(got))
	require.False(t, emutest.GroupAlive(emutest.ScriptPID(path)))
}

// A builder that cannot be started is not found.
func TestBuild_Missing(t *testing.T) {
	_, err := emu.Build(context.Background(), emu.BuildRun{Path: filepath.Join(t.TempDir(), "none"),
		Args: buildArgs()})
	require.ErrorIs(t, err, errdefs.ErrNotFound)
}
