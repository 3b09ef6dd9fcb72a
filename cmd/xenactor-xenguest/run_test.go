package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// host is a simulated hypervisor served on a socket, as the builder finds
// it.
type host struct {
	sim  *hvsim.Sim
	path string
}

func newHost(t *testing.T) *host {
	t.Helper()
	dir, err := os.MkdirTemp("", "xg")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "hypervisor.sock")
	l, err := hvremote.Listen(path)
	require.NoError(t, err)
	s := hvsim.New(hvsim.Config{})
	srv := hvremote.NewServer(s, nil)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &host{sim: s, path: path}
}

// domain creates a domain of type typ to build.
func (h *host) domain(t *testing.T, typ hypervisor.DomainType) hypervisor.DomID {
	t.Helper()
	id, err := h.sim.Create(context.Background(), hypervisor.CreateConfig{UUID: "6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
		Type: typ, MaxVCPUs: 1, MaxMemKiB: 32 << 10})
	require.NoError(t, err)
	return id
}

// args are the arguments of a build of id on h.
func (h *host) args(id hypervisor.DomID, mode emu.Mode) emu.BuildArgs {
	return emu.BuildArgs{Mode: mode, DomID: id, MemMaxMiB: 32, MemStartMiB: 16, Image: "sim:linux",
		Hypervisor: h.path, ControlOutFD: 1}
}

// runBuild runs the builder in the test with a control input that stays
// open, and returns what it printed.
func runBuild(t *testing.T, args emu.BuildArgs) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	var out bytes.Buffer
	err = run(context.Background(), args, r, &out)
	return out.String(), err
}

func TestRun_Build(t *testing.T) {
	for _, c := range []struct {
		typ  hypervisor.DomainType
		mode emu.Mode
	}{{hypervisor.DomainTypePV, emu.ModePVBuild}, {hypervisor.DomainTypePVH, emu.ModePVHBuild},
		{hypervisor.DomainTypeHVM, emu.ModeHVMBuild}} {
		t.Run(string(c.mode), func(t *testing.T) {
			h := newHost(t)
			id := h.domain(t, c.typ)
			out, err := runBuild(t, h.args(id, c.mode))
			require.NoError(t, err)
			m, err := emu.ParseMessage(strings.TrimSuffix(out, "\n"))
			require.NoError(t, err)
			require.Equal(t, emu.KindResult, m.Kind, out)
			res, err := emu.ParseBuildResult(m.Arg)
			require.NoError(t, err)
			require.NotZero(t, res.StoreGFN)
			require.NotZero(t, res.StorePort)
			info, err := h.sim.DomainInfo(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, uint64(16<<10), info.MemoryKiB, "built with -mem_start_mib")
		})
	}
}

func TestRun_Errors(t *testing.T) {
	h := newHost(t)
	id := h.domain(t, hypervisor.DomainTypePV)
	for name, c := range map[string]struct {
		args emu.BuildArgs
		msg  string
	}{
		"unknown domain": {h.args(id+1, emu.ModePVBuild), "domain " + (id + 1).String()},
		"wrong mode":     {h.args(id, emu.ModeHVMBuild), "want -mode pv_build"},
		"no hypervisor": {emu.BuildArgs{Mode: emu.ModePVBuild, DomID: id, MemMaxMiB: 32, MemStartMiB: 16,
			Image: "k", Hypervisor: filepath.Join(t.TempDir(), "none")}, "hypervisor:"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runBuild(t, c.args)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(out, "error:"), out)
			require.Contains(t, out, c.msg)
			require.Equal(t, 1, strings.Count(out, "\n"), "one line")
		})
	}
	// The failed builds left the domain as it was.
	info, err := h.sim.DomainInfo(context.Background(), id)
	require.NoError(t, err)
	require.Zero(t, info.MemoryKiB)
}

// An abort on the control input, or its end, cancels a build that waits
// on the hypervisor.
func TestRun_Aborted(t *testing.T) {
	for name, stop := range map[string]func(w *os.File){
		"abort":  func(w *os.File) { _, _ = w.WriteString("abort\n") },
		"closed": func(w *os.File) { _ = w.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			// A hypervisor that accepts and never answers.
			sock := filepath.Join(t.TempDir(), "hv.sock")
			l, err := net.Listen("unix", sock)
			require.NoError(t, err)
			defer l.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				if c, err := l.Accept(); err == nil {
					accepted <- c
				}
			}()
			r, w, err := os.Pipe()
			require.NoError(t, err)
			defer r.Close()
			defer w.Close()
			done := make(chan error, 1)
			var out bytes.Buffer
			go func() {
				done <- run(context.Background(), emu.BuildArgs{Mode: emu.ModePVBuild, DomID: 1, MemMaxMiB: 1,
					MemStartMiB: 1, Image: "k", Hypervisor: sock}, r, &out)
			}()
			c := <-accepted
			defer c.Close()
			stop(w)
			err = <-done
			require.ErrorIs(t, err, errAborted)
			require.True(t, strings.HasPrefix(out.String(), "error:"), out.String())
			require.Contains(t, out.String(), "aborted by the toolstack")
		})
	}
}

// The executable prints error: and exits 2 for bad arguments, and
// result: with exit 0 for a build.
func TestMain_Exits(t *testing.T) {
	bin := emutest.BuildXenguest(t)
	cmd := exec.Command(bin, "-mode", "save", "-domid", "1")
	out, err := cmd.Output()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, 2, ee.ExitCode())
	require.True(t, strings.HasPrefix(string(out), "error:xenguest: arguments:"), string(out))

	h := newHost(t)
	id := h.domain(t, hypervisor.DomainTypePV)
	cmd = exec.Command(bin, h.args(id, emu.ModePVBuild).Argv()...)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	cmd.Stdin = r
	out, err = cmd.Output()
	r.Close()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(out), "result:"), string(out))

	cmd = exec.Command(bin, h.args(id+1, emu.ModePVBuild).Argv()...)
	cmd.Stdin = r
	out, err = cmd.Output()
	require.True(t, errors.As(err, &ee), "%v", err)
	require.Equal(t, 1, ee.ExitCode())
	require.True(t, strings.HasPrefix(string(out), "error:"), string(out))
}
