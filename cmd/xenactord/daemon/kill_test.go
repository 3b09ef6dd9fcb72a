package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// childEnv, when set, makes the test binary a daemon child (see runChild)
// instead of running the tests.
const childEnv = "XENACTOR_DAEMON_TEST_CHILD"

// childReady is the line the child prints once every VM runs.
const childReady = "child: all running"

// childConfig is what the parent hands the child in childEnv.
type childConfig struct {
	StateDir, Xenstored, Hypervisor string
	VMs                             []vm.Spec
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		if err := runChild(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs a daemon on the remote host, starts the VMs in parallel,
// says so, and runs until it is killed.
func runChild(raw string) error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: cfg.StateDir, RunDir: os.TempDir(),
		Xenstored: cfg.Xenstored, Hypervisor: cfg.Hypervisor, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	pid, err := d.Host().Tasks(ctx)
	if err != nil {
		return err
	}
	tc := tasks.NewClient(d.System(), pid)
	var wg sync.WaitGroup
	errs := make(chan error, len(cfg.VMs))
	for _, spec := range cfg.VMs {
		wg.Go(func() {
			c, err := d.Host().AddVM(ctx, spec)
			if err != nil {
				errs <- err
				return
			}
			id, err := c.Start(ctx, false)
			if err == nil {
				var task tasks.Task
				if task, err = tc.Wait(ctx, id); err == nil && task.State != tasks.Completed {
					err = fmt.Errorf("start %s: %s", spec.UUID, task.Error)
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if err := waitDomidsPersisted(ctx, cfg.StateDir, cfg.VMs); err != nil {
		return err
	}
	fmt.Println(childReady)
	select {} // until SIGKILL
}

// waitDomidsPersisted waits until the record of every VM of specs names a
// domain. The host actor persists a domid after the start completed, when
// it learns the VM's status (actors/host handleStatted): a daemon stopped
// or killed before then leaves a running domain its record does not name,
// which the next daemon neither adopts nor cleans up. The restart tests
// cover a stop after that point.
func waitDomidsPersisted(ctx context.Context, stateDir string, specs []vm.Spec) error {
	for _, spec := range specs {
		for {
			var rec struct {
				Data struct {
					DomID uint32 `json:"domid"`
				} `json:"data"`
			}
			b, err := os.ReadFile(filepath.Join(stateDir, host.KindVM, spec.UUID+".json"))
			if err == nil && json.Unmarshal(b, &rec) == nil && rec.Data.DomID != 0 {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the domid of %s is never persisted: %w", spec.UUID, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

func TestDaemon_SIGKILLThenRestartAdoptsEveryDomain(t *testing.T) {
	h, s := remoteHost(t)
	stateDir := t.TempDir()
	cfg := childConfig{StateDir: stateDir, Xenstored: s.Xenstored, Hypervisor: "unix:" + s.Hypervisor}
	for i := range 5 {
		cfg.VMs = append(cfg.VMs, newSpec(i))
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+string(raw))
	var stderr syncBuffer
	child.Stderr = &stderr
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	lines := bufio.NewScanner(stdout)
	ready := false
	for !ready && lines.Scan() {
		ready = strings.TrimSpace(lines.Text()) == childReady
	}
	require.True(t, ready, "the child never got its VMs running; stderr:\n%s", &stderr)

	// No graceful stop: the kernel drops the state directory's lock.
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()

	running, err := h.Hypervisor().ListDomains(ctxFor(t))
	require.NoError(t, err)
	require.Len(t, running, len(cfg.VMs)+1, "the guests outlive the daemon")

	d := start(t, remoteConfig(t, s, stateDir))
	byUUID := make(map[string]hypervisor.DomID)
	var list []host.VMInfo
	require.Eventually(t, func() bool {
		list, err = d.Host().ListVMs(ctxFor(t))
		if err != nil || len(list) != len(cfg.VMs) {
			return false
		}
		for _, info := range list {
			if info.PowerState != vm.Running {
				return false
			}
			byUUID[info.Spec.UUID] = info.DomID
		}
		return true
	}, waitFor, tick, "every VM is adopted Running: %+v", &list)

	// Every domain is accounted for: each guest is the domain of the VM
	// of its uuid, and no domain was added.
	after, err := h.Hypervisor().ListDomains(ctxFor(t))
	require.NoError(t, err)
	require.Equal(t, ids(running), ids(after))
	for _, info := range after {
		if info.ID == hypervisor.Dom0 {
			continue
		}
		require.Equal(t, info.ID, byUUID[info.UUID], "domain %d (%s)", info.ID, info.UUID)
	}
	for _, spec := range cfg.VMs {
		requireDevicesConnected(t, d, spec.UUID, 2)
	}
}

// syncBuffer is a strings.Builder safe for the writer goroutine of
// exec.Cmd.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
