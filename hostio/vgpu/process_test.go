package vgpu_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/vgpu/vgputest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestMain(m *testing.M) {
	vgputest.Main()
	os.Exit(m.Run())
}

const wait = 20 * time.Second

func device(domid uint32) vgpu.Device {
	return vgpu.Device{DomID: hypervisor.DomID(domid), VCPUs: 2, DevID: 1, Type: "GRID T4-2Q", GPU: "0000:03:00.0",
		UUID: "6e0f6b8a-2c4e-4b47-9a43-1c3c1d1e2f30"}
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, l *vgputest.Launcher, dev vgpu.Device, state []byte) *vgpu.Process {
	t.Helper()
	e, err := l.Start(ctxFor(t), dev, state)
	require.NoError(t, err)
	return e.(*vgpu.Process)
}

func frames(t *testing.T, p *vgpu.Process, n int) {
	t.Helper()
	_, err := p.Control().Execute(ctxFor(t), "vgpu-frame", map[string]int{"count": n})
	require.NoError(t, err)
}

func requireGone(t *testing.T, p *vgpu.Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(wait):
		t.Fatal("DEMU still running")
	}
	require.NoFileExists(t, p.Files().Control)
	require.NoFileExists(t, p.Files().PidFile)
}

func TestProcess_StateSurvivesSaveAndResume(t *testing.T) {
	l := vgputest.NewLauncher(t)
	ctx := ctxFor(t)
	p := start(t, l, device(5), nil)
	require.NoError(t, p.Health(ctx))
	st, err := p.Query(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, st.Domain)
	require.EqualValues(t, 2<<30, st.FramebufferBytes)
	require.False(t, st.Resumed)
	frames(t, p, 3)

	state, err := p.Save(ctx)
	require.NoError(t, err)
	require.NoFileExists(t, p.Files().State)
	require.NoError(t, p.Stop(ctx))
	requireGone(t, p)
	require.NoFileExists(t, p.Files().Log)

	// Another domain resumes it.
	q := start(t, l, device(6), state)
	st, err = q.Query(ctx)
	require.NoError(t, err)
	require.Equal(t, 6, st.Domain)
	require.EqualValues(t, 3, st.Frames)
	require.True(t, st.Resumed)
	require.NoFileExists(t, q.Files().State, "the state is spent")
	require.NoError(t, q.Stop(ctx))

	// A vGPU of another type refuses it: the start fails, nothing left.
	other := device(7)
	other.Type = "GRID T4-4Q"
	_, err = l.Start(ctx, other, state)
	require.ErrorIs(t, err, errdefs.ErrUnavailable)
	require.ErrorContains(t, err, "resume")
	f := l.Config.Files(other)
	require.NoFileExists(t, f.Control)
	require.NoFileExists(t, f.PidFile)
	require.NoFileExists(t, f.State)
}

func TestProcess_DeathIsSeen(t *testing.T) {
	l := vgputest.NewLauncher(t)
	p := start(t, l, device(5), nil)
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGKILL))
	requireGone(t, p)
	require.EqualError(t, p.Err(), "signal: killed")

	// SIGTERM is a clean exit.
	q := start(t, l, device(6), nil)
	require.NoError(t, syscall.Kill(q.Pid(), syscall.SIGTERM))
	requireGone(t, q)
	require.EqualError(t, q.Err(), "exited")
	require.Contains(t, readFile(t, q.Files().Log), "terminated, exiting")
}

func TestProcess_Adopt(t *testing.T) {
	l := vgputest.NewLauncher(t)
	ctx := ctxFor(t)
	p := start(t, l, device(5), nil)
	frames(t, p, 2)
	p.Release()

	e, err := l.Adopt(ctx, device(5))
	require.NoError(t, err)
	a := e.(*vgpu.Process)
	require.Equal(t, p.Pid(), a.Pid())
	st, err := a.Query(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Frames)

	// Its death is seen without being its parent.
	require.NoError(t, syscall.Kill(a.Pid(), syscall.SIGKILL))
	requireGone(t, a)
	_, err = l.Adopt(ctx, device(5))
	require.ErrorIs(t, err, errdefs.ErrNotFound)

	// Nor is another domain's DEMU adopted.
	_ = start(t, l, device(8), nil)
	require.NoError(t, os.WriteFile(l.Config.Files(device(9)).PidFile,
		[]byte(readFile(t, l.Config.Files(device(8)).PidFile)), 0o600))
	_, err = l.Adopt(ctx, device(9))
	require.ErrorIs(t, err, errdefs.ErrNotFound)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
