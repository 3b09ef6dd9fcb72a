package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/emu"
	"github.com/xenactor/xenactor/hostio/emu/emutest"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvremote"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

const waitFor = 10 * time.Second

// host is a simulated hypervisor served on a socket, as the helper finds
// it.
type host struct {
	sim  *hvsim.Sim
	path string
}

func newHost(t *testing.T) *host {
	t.Helper()
	dir, err := os.MkdirTemp("", "emu")
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

// domain creates a domain; built, it is built and paused, as a suspended
// guest's domain is saved.
func (h *host) domain(t *testing.T, built bool) hypervisor.DomID {
	t.Helper()
	ctx := context.Background()
	id, err := h.sim.Create(ctx, hypervisor.CreateConfig{UUID: "6f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 16 << 10})
	require.NoError(t, err)
	if built {
		_, err = h.sim.Build(ctx, id, hypervisor.BuildConfig{Kernel: "k", MemoryKiB: 16 << 10})
		require.NoError(t, err)
		require.NoError(t, h.sim.WritePage(ctx, id, 3, []byte("guest data")))
	}
	return id
}

// session is a run of the helper in the test, on pipes.
type session struct {
	in    *io.PipeWriter
	lines chan string
	done  chan error
}

func start(t *testing.T, args emu.Args) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{in: inW, lines: make(chan string, 256), done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, inR, outW)
		outW.Close()
		s.done <- err
	}()
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
	})
	return s
}

// next returns the next line that is not progress.
func (s *session) next(t *testing.T) string {
	t.Helper()
	for {
		select {
		case l, ok := <-s.lines:
			require.True(t, ok, "the helper's output ended")
			if !strings.HasPrefix(l, "info:") {
				return l
			}
		case <-time.After(waitFor):
			t.Fatal("no line from the helper")
		}
	}
}

func (s *session) send(t *testing.T, cmd string) {
	t.Helper()
	_, err := io.WriteString(s.in, cmd+"\n")
	require.NoError(t, err)
}

func (s *session) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(waitFor):
		t.Fatal("the helper did not end")
		return nil
	}
}

func TestRun_SaveThenRestore(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	id := h.domain(t, true)
	require.NoError(t, h.sim.Pause(ctx, id))
	want, err := h.sim.MemoryChecksum(ctx, id)
	require.NoError(t, err)
	img := filepath.Join(t.TempDir(), "img")

	s := start(t, emu.Args{Mode: emu.ModeSave, DomID: id, Image: img, Hypervisor: h.path})
	require.Equal(t, "suspend:", s.next(t))
	s.send(t, emu.CmdDone)
	var infos []string
	for l := range s.lines {
		infos = append(infos, l)
	}
	require.NoError(t, s.result(t))
	require.Equal(t, "result:xenguest", infos[len(infos)-1])
	require.Equal(t, "info:progress 100", infos[len(infos)-2])
	fi, err := os.Stat(img)
	require.NoError(t, err)
	require.Positive(t, fi.Size())

	to := h.domain(t, false)
	s = start(t, emu.Args{Mode: emu.ModeRestore, DomID: to, Image: img, Hypervisor: h.path})
	s.send(t, emu.CmdRestorePrefix+emu.EmuXenguest)
	line := s.next(t)
	require.NoError(t, s.result(t))
	m, err := emu.ParseMessage(line)
	require.NoError(t, err)
	require.Equal(t, emu.KindResult, m.Kind, line)
	res, err := emu.ParseXenguestResult(m.Arg)
	require.NoError(t, err)
	require.NotZero(t, res.StoreGFN)
	got, err := h.sim.MemoryChecksum(ctx, to)
	require.NoError(t, err)
	require.Equal(t, want, got, "the restored memory is the saved memory")
}

// With -dm vgpu, a save asks for the vGPU emulators' state after
// xenguest's part (prepare:vgpu) and ends after done; a restore leaves the
// image's offset, which it shares with the toolstack, after xenguest's
// part, and waits for restore:vgpu.
func TestRun_VGPU(t *testing.T) {
	h := newHost(t)
	ctx := context.Background()
	id := h.domain(t, true)
	require.NoError(t, h.sim.Pause(ctx, id))
	want, err := h.sim.MemoryChecksum(ctx, id)
	require.NoError(t, err)
	img := filepath.Join(t.TempDir(), "img")
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	defer f.Close()

	s := start(t, emu.Args{Mode: emu.ModeHVMSave, DomID: id, ImageFD: dup(t, f), Hypervisor: h.path, VGPU: true})
	require.Equal(t, "suspend:", s.next(t))
	s.send(t, emu.CmdDone)
	require.Equal(t, "prepare:vgpu", s.next(t))
	// The toolstack appends the emulators' state where the helper stopped.
	end, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	fi, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, fi.Size(), end, "the helper's part is flushed")
	body, err := hypervisor.EmulatorState{Emulator: "demu", Instance: 0, Data: []byte("frames 5")}.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, hypervisor.WriteRecord(f, hypervisor.RecordEmulatorState, body))
	s.send(t, emu.CmdDone)
	require.Equal(t, "result:xenguest", s.next(t))
	require.NoError(t, s.result(t))

	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	to := h.domain(t, false)
	s = start(t, emu.Args{Mode: emu.ModeHVMRestore, DomID: to, ImageFD: dup(t, f), Hypervisor: h.path, VGPU: true})
	s.send(t, emu.CmdRestorePrefix+emu.EmuXenguest)
	m, err := emu.ParseMessage(s.next(t))
	require.NoError(t, err)
	_, err = emu.ParseXenguestResult(m.Arg)
	require.NoError(t, err)
	at, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, end, at, "the offset is after xenguest's part")
	typ, got, err := hypervisor.ReadRecord(f)
	require.NoError(t, err)
	require.Equal(t, hypervisor.RecordEmulatorState, typ)
	require.Equal(t, body, got)
	s.send(t, emu.CmdRestorePrefix+emu.EmuVGPU)
	require.Equal(t, "result:vgpu", s.next(t))
	require.NoError(t, s.result(t))
	sum, err := h.sim.MemoryChecksum(ctx, to)
	require.NoError(t, err)
	require.Equal(t, want, sum)
}

// dup returns a duplicate of f's descriptor, which shares its offset, for
// the helper to take and close.
func dup(t *testing.T, f *os.File) int {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	require.NoError(t, err)
	return fd
}

// The toolstack's abort, or the end of its control channel, while the
// helper waits for done: it prints error: and ends, and writes nothing.
func TestRun_AbortOrClosedControl(t *testing.T) {
	for name, end := range map[string]func(*session){
		"abort":  func(s *session) { _, _ = io.WriteString(s.in, "abort\n") },
		"closed": func(s *session) { s.in.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHost(t)
			id := h.domain(t, true)
			require.NoError(t, h.sim.Pause(context.Background(), id))
			img := filepath.Join(t.TempDir(), "img")
			s := start(t, emu.Args{Mode: emu.ModeSave, DomID: id, Image: img, Hypervisor: h.path})
			require.Equal(t, "suspend:", s.next(t))
			end(s)
			line := s.next(t)
			require.True(t, strings.HasPrefix(line, "error:"), line)
			err := s.result(t)
			require.Error(t, err)
			if name == "abort" {
				require.ErrorIs(t, err, errAborted)
			} else {
				require.ErrorIs(t, err, errControlClosed)
			}
			fi, err := os.Stat(img)
			require.NoError(t, err)
			require.Zero(t, fi.Size(), "nothing saved")
		})
	}
}

// A restore is aborted by the toolstack before it began, or refused for
// an emulator the helper does not know.
func TestRun_RestoreRefused(t *testing.T) {
	for cmd, want := range map[string]string{"abort": "aborted", "restore:vgpu": `unexpected command "restore:vgpu"`,
		"restore:qemu": `unexpected command "restore:qemu"`} {
		t.Run(cmd, func(t *testing.T) {
			h := newHost(t)
			to := h.domain(t, false)
			img := filepath.Join(t.TempDir(), "img")
			require.NoError(t, os.WriteFile(img, []byte("not used"), 0o600))
			s := start(t, emu.Args{Mode: emu.ModeRestore, DomID: to, Image: img, Hypervisor: h.path})
			s.send(t, cmd)
			line := s.next(t)
			require.True(t, strings.HasPrefix(line, "error:"), line)
			require.Contains(t, line, want)
			require.Error(t, s.result(t))
		})
	}
}

func TestRun_BadDomainOrImage(t *testing.T) {
	h := newHost(t)
	id := h.domain(t, true)
	exists := filepath.Join(t.TempDir(), "exists")
	require.NoError(t, os.WriteFile(exists, nil, 0o600))
	for name, c := range map[string]struct {
		args emu.Args
		want string
	}{
		"unknown domain": {emu.Args{Mode: emu.ModeSave, DomID: 999, Image: filepath.Join(t.TempDir(), "i"),
			Hypervisor: h.path}, "error:domain 999:"},
		"existing image": {emu.Args{Mode: emu.ModeSave, DomID: id, Image: exists, Hypervisor: h.path},
			"error:image:"},
		"missing image": {emu.Args{Mode: emu.ModeRestore, DomID: id, Image: exists + ".none", Hypervisor: h.path},
			"error:image:"},
		"no hypervisor": {emu.Args{Mode: emu.ModeSave, DomID: id, Image: exists, Hypervisor: h.path + ".none"},
			"error:hypervisor:"},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, c.args)
			line := s.next(t)
			require.True(t, strings.HasPrefix(line, c.want), line)
			require.Error(t, s.result(t))
		})
	}
}

// The built command: bad arguments exit 2 and say so on the control
// channel too.
func TestMain_BadArguments(t *testing.T) {
	bin := emutest.BuildHelper(t)
	cmd := exec.Command(bin, "-mode", "save", "-domid", "0", "-fd", "3", "-hypervisor", "/none")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 2, exit.ExitCode())
	require.True(t, strings.HasPrefix(stdout.String(), "error:emu: arguments: -domid 0: not a guest domain"),
		stdout.String())
	require.Contains(t, stderr.String(), "not a guest domain")
}
