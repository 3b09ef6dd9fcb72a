package qmp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/qmp"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// startQEMU runs qemu-system-x86_64 with a QMP socket and the extra args,
// stopped at the end of the test, and returns a client connected to it.
func startQEMU(t *testing.T, args ...string) (*qmp.Client, *exec.Cmd) {
	t.Helper()
	bin := testenv.RequireExternal(t, "qemu-system-x86_64")["qemu-system-x86_64"]
	dir, err := os.MkdirTemp("", "x")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "qmp.sock")
	argv := append([]string{"-nodefaults", "-nographic", "-display", "none", "-m", "32",
		"-qmp", "unix:" + sock + ",server=on,wait=off"}, args...)
	cmd := exec.Command(bin, argv...)
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	var c *qmp.Client
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err = qmp.Dial(ctx, sock)
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "QMP never answered: %v; qemu said: %s", err, &out)
	t.Cleanup(func() { c.Close() })
	return c, cmd
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitEvent waits for the event named name, skipping others.
func waitEvent(t *testing.T, c *qmp.Client, name string) qmp.Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			require.True(t, ok, "events closed before %s", name)
			if ev.Name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", name)
		}
	}
}

func TestQEMU_GreetingStatusStopCont(t *testing.T) {
	c, _ := startQEMU(t, "-machine", "none")
	ctx := ctxT(t)
	g := c.Greeting()
	require.GreaterOrEqual(t, g.Version.Major, 2)
	require.NotEmpty(t, g.Version.String())

	st, err := c.QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, "running", st.Status)
	require.True(t, st.Running)

	_, err = c.Execute(ctx, "stop", nil)
	require.NoError(t, err)
	ev := waitEvent(t, c, "STOP")
	require.False(t, ev.Time.IsZero())
	st, err = c.QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, "paused", st.Status)

	_, err = c.Execute(ctx, "cont", nil)
	require.NoError(t, err)
	waitEvent(t, c, "RESUME")
	st, err = c.QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, "running", st.Status)
}

func TestQEMU_UnknownCommand(t *testing.T) {
	c, _ := startQEMU(t, "-machine", "none")
	_, err := c.Execute(ctxT(t), "no-such-command", nil)
	var qe *qmp.Error
	require.ErrorAs(t, err, &qe)
	require.Equal(t, "CommandNotFound", qe.Class)
	require.Equal(t, "no-such-command", qe.Command)
	require.True(t, errdefs.IsNotImplemented(err))

	// Bad arguments are a GenericError, an invalid argument.
	_, err = c.Execute(ctxT(t), "device_del", map[string]any{"id": "nothing-here"})
	require.ErrorAs(t, err, &qe)
	require.True(t, errdefs.IsNotFound(err) || errdefs.IsInvalid(err), "%v", err)
	// The connection is still good.
	_, err = c.QueryStatus(ctxT(t))
	require.NoError(t, err)
}

func TestQEMU_ConcurrentCommands(t *testing.T) {
	c, _ := startQEMU(t, "-machine", "none")
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			if i%4 == 0 {
				var qe *qmp.Error
				if _, err := c.Execute(ctx, "no-such-command", nil); !errors.As(err, &qe) ||
					qe.Class != "CommandNotFound" {
					errs[i] = fmt.Errorf("want CommandNotFound, got %v", err)
				}
				return
			}
			var names []struct {
				Name string `json:"name"`
			}
			errs[i] = c.Run(ctx, "query-commands", nil, &names)
			if errs[i] == nil && len(names) == 0 {
				errs[i] = errdefs.ErrInvalid
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "command %d", i)
	}
	// A command given up on (ctx ended) does not steal the next one's reply.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err := c.Execute(gone, "query-status", nil)
	require.ErrorIs(t, err, context.Canceled)
	st, err := c.QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, "running", st.Status)
}

func TestQEMU_DeviceAddDel(t *testing.T) {
	// -machine none has no bus to plug into: a PC with a USB controller,
	// held before its firmware runs, takes a USB keyboard, and unplugs it
	// without asking a guest.
	c, _ := startQEMU(t, "-machine", "pc", "-S", "-device", "qemu-xhci,id=xhci")
	ctx := ctxT(t)
	_, err := c.Execute(ctx, "device_add", map[string]any{"driver": "usb-kbd", "id": "kbd0"})
	require.NoError(t, err)
	_, err = c.Execute(ctx, "device_add", map[string]any{"driver": "usb-kbd", "id": "kbd0"})
	require.Error(t, err, "a duplicate id is refused")
	_, err = c.Execute(ctx, "device_del", map[string]any{"id": "kbd0"})
	require.NoError(t, err)
	ev := waitEvent(t, c, "DEVICE_DELETED")
	var data struct {
		Device string `json:"device"`
	}
	require.NoError(t, json.Unmarshal(ev.Data, &data))
	require.Equal(t, "kbd0", data.Device)
}

func TestQEMU_QuitClosesConnection(t *testing.T) {
	c, cmd := startQEMU(t, "-machine", "none")
	ctx := ctxT(t)
	_, err := c.Execute(ctx, "quit", nil)
	require.NoError(t, err)
	waitEvent(t, c, "SHUTDOWN")
	select {
	case <-c.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("connection not seen closed after quit")
	}
	require.True(t, errdefs.IsUnavailable(c.Err()), "%v", c.Err())
	_, err = c.QueryStatus(ctx)
	require.True(t, errdefs.IsUnavailable(err), "%v", err)
	// Events is closed once the connection ended.
	for range c.Events() {
	}
	// QEMU exits after it answered.
	require.Eventually(t, func() bool { return processGone(cmd.Process.Pid) },
		20*time.Second, 10*time.Millisecond)
}

// processGone reports whether pid exited (gone, or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}
