// Package vgputest runs the DEMU stand-in inside tests: the test binary
// re-executes itself as DEMU (Main, called first in TestMain), and
// NewLauncher returns a vgpu launcher of such processes that records them
// and kills whatever is left at the end of the test.
package vgputest

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/vgpu"
	"github.com/xenactor/xenactor/hostio/vgpu/demu"
)

// envChild marks a test binary started as DEMU.
const envChild = "XENACTOR_VGPUTEST_DEMU"

// Main runs the stand-in and exits when the test binary was started as
// DEMU; otherwise it returns at once. TestMain calls it first.
func Main() {
	if os.Getenv(envChild) == "1" {
		os.Exit(demu.Main(os.Args[1:], os.Stderr))
	}
}

// Launcher is a vgpu.DEMU of the test binary that records the processes
// it started and adopted.
type Launcher struct {
	vgpu.DEMU
	mu    sync.Mutex
	procs []*vgpu.Process
}

// NewLauncher returns a launcher whose run directory is short (Unix socket
// paths) and removed at the end of the test, when every DEMU still running
// is killed.
func NewLauncher(t *testing.T) *Launcher {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "g")
	require.NoError(t, err)
	l := &Launcher{DEMU: vgpu.DEMU{Config: vgpu.Config{RunDir: dir, Binary: exe, Env: []string{envChild + "=1"},
		ReadyTimeout: 20 * time.Second, StopGrace: 2 * time.Second}}}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, p := range l.procs {
			_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		}
		for _, p := range l.procs {
			<-p.Done()
		}
		os.RemoveAll(dir)
	})
	return l
}

// Start implements vgpu.Launcher.
func (l *Launcher) Start(ctx context.Context, dev vgpu.Device, state []byte) (vgpu.Emulator, error) {
	p, err := vgpu.Start(ctx, l.Config, dev, state)
	if err != nil {
		return nil, err
	}
	l.add(p)
	return p, nil
}

// Adopt implements vgpu.Launcher.
func (l *Launcher) Adopt(ctx context.Context, dev vgpu.Device) (vgpu.Emulator, error) {
	p, err := vgpu.Adopt(ctx, l.Config, dev)
	if err != nil {
		return nil, err
	}
	l.add(p)
	return p, nil
}

func (l *Launcher) add(p *vgpu.Process) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.procs = append(l.procs, p)
}

// Processes returns the processes started and adopted so far, oldest
// first.
func (l *Launcher) Processes() []*vgpu.Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*vgpu.Process(nil), l.procs...)
}

// Last returns the latest process, nil if none.
func (l *Launcher) Last() *vgpu.Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.procs) == 0 {
		return nil
	}
	return l.procs[len(l.procs)-1]
}
