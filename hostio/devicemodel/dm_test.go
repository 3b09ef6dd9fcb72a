package devicemodel_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/devicemodel"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// config returns the config of domain 7's device model in a short run
// directory removed with the test.
func config(t *testing.T) devicemodel.Config {
	t.Helper()
	bin := testenv.RequireExternal(t, "qemu-system-x86_64")["qemu-system-x86_64"]
	dir, err := os.MkdirTemp("", "x")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return devicemodel.Config{DomID: 7, UUID: "6f1e4b4e-8f0a-4a57-9c2b-3b7d2b1c0a01", RunDir: dir, Binary: bin,
		ReadyTimeout: 20 * time.Second}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startT starts a device model stopped (killed at worst) by the test.
func startT(t *testing.T, cfg devicemodel.Config) *devicemodel.DM {
	t.Helper()
	dm, err := devicemodel.Start(ctxT(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = syscall.Kill(dm.Pid(), syscall.SIGKILL)
		<-dm.Done()
	})
	return dm
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func requireGone(t *testing.T, dm *devicemodel.DM) {
	t.Helper()
	select {
	case <-dm.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("device model not seen ended")
	}
	require.Eventually(t, func() bool { return !alive(dm.Pid()) }, 10*time.Second, 10*time.Millisecond)
	for _, f := range []string{dm.Files().QMP, dm.Files().PidFile} {
		require.NoFileExists(t, f)
	}
}

func TestDM_StartStop(t *testing.T) {
	cfg := config(t)
	dm := startT(t, cfg)
	require.True(t, alive(dm.Pid()))
	pid, err := os.ReadFile(cfg.Files().PidFile)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(dm.Pid()), strings.Fields(string(pid))[0], "the pid, then its start time")
	ctx := ctxT(t)
	st, err := dm.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, "running", st)
	require.NoError(t, dm.Pause(ctx))
	st, err = dm.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, "paused", st)
	require.NoError(t, dm.Resume(ctx))

	require.NoError(t, dm.Stop(ctx))
	requireGone(t, dm)
	require.NoFileExists(t, cfg.Files().Log)
	require.NoError(t, dm.Stop(ctx), "stopping a stopped device model")
}

func TestDM_KilledIsSeen(t *testing.T) {
	dm := startT(t, config(t))
	require.NoError(t, syscall.Kill(dm.Pid(), syscall.SIGKILL))
	requireGone(t, dm)
	require.ErrorContains(t, dm.Err(), "killed")
}

func TestDM_NeverReady(t *testing.T) {
	cfg := config(t)
	script := filepath.Join(t.TempDir(), "fake-qemu")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+cfg.RunDir+"/fake.pid\nexec sleep 60\n"), 0o755))
	cfg.Binary, cfg.ReadyTimeout = script, 300*time.Millisecond
	_, err := devicemodel.Start(ctxT(t), cfg)
	require.Error(t, err)
	require.True(t, errdefs.IsTimeout(err), "%v", err)
	b, rerr := os.ReadFile(filepath.Join(cfg.RunDir, "fake.pid"))
	require.NoError(t, rerr)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	require.False(t, alive(pid), "the fake device model was left running")
	require.NoFileExists(t, cfg.Files().PidFile)
}

func TestDM_ExitsAtOnce(t *testing.T) {
	cfg := config(t)
	cfg.ExtraArgs = []string{"-no-such-option"}
	_, err := devicemodel.Start(ctxT(t), cfg)
	require.Error(t, err)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	require.ErrorContains(t, err, "no-such-option")
	require.NoFileExists(t, cfg.Files().PidFile)
}

func TestDM_Adopt(t *testing.T) {
	cfg := config(t)
	first := startT(t, cfg)
	first.Release()

	dm, err := devicemodel.Adopt(ctxT(t), cfg)
	require.NoError(t, err)
	require.Equal(t, first.Pid(), dm.Pid())
	st, err := dm.Status(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "running", st)
	// The adopted one's death is seen too.
	require.NoError(t, syscall.Kill(dm.Pid(), syscall.SIGKILL))
	requireGone(t, dm)

	_, err = devicemodel.Adopt(ctxT(t), cfg)
	require.True(t, errdefs.IsNotFound(err), "no pid file: %v", err)
}

func TestDM_AdoptRefusesAnotherProcess(t *testing.T) {
	cfg := config(t)
	// The pid file names a live process that is not this device model.
	require.NoError(t, os.WriteFile(cfg.Files().PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600))
	_, err := devicemodel.Adopt(ctxT(t), cfg)
	require.True(t, errdefs.IsNotFound(err), "%v", err)
}

func TestDM_Args(t *testing.T) {
	cfg := devicemodel.Config{DomID: 12, UUID: "u", RunDir: "/run/x"}
	f := cfg.Files()
	xen := strings.Join(devicemodel.XenArgs(cfg, f), " ")
	require.Contains(t, xen, "-xen-domid 12 -machine xenfv")
	require.Contains(t, xen, "unix:/run/x/dm-12.qmp,server=on,wait=off")
	sim := strings.Join(devicemodel.SimArgs(cfg, f), " ")
	require.Contains(t, sim, "-machine none")
	require.NotContains(t, sim, "xen")

	long := devicemodel.Config{DomID: 1, RunDir: "/" + strings.Repeat("d", 120)}
	_, err := devicemodel.Start(context.Background(), long)
	require.True(t, errdefs.IsInvalid(err), "%v", err)
}

func TestDM_StartCanceled(t *testing.T) {
	cfg := config(t)
	script := filepath.Join(t.TempDir(), "fake-qemu")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho $$ > "+cfg.RunDir+"/fake.pid\nexec sleep 60\n"), 0o755))
	cfg.Binary = script
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the fake device model runs.
		for ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(cfg.RunDir, "fake.pid")); err == nil {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	defer cancel()
	_, err := devicemodel.Start(ctx, cfg)
	require.ErrorIs(t, err, context.Canceled)
	b, rerr := os.ReadFile(filepath.Join(cfg.RunDir, "fake.pid"))
	require.NoError(t, rerr)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	require.False(t, alive(pid), "the cancelled device model was left running")
}
