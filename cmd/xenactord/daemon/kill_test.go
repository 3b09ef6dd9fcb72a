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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
)

// childEnv, when set, makes the test binary a daemon child (see runChild)
// instead of running the tests.
const childEnv = "XENACTOR_DAEMON_TEST_CHILD"

// childReady is the line the child prints once every VM runs.
const childReady = "child: all running"

// childConfig is what the parent hands the child in childEnv. With
// ReadyAfter > 0 the child says it is ready once that many starts
// completed, with the others still in flight (a storm to kill in the
// middle).
type childConfig struct {
	StateDir, Xenstored, Hypervisor string
	VMs                             []vm.Spec
	ReadyAfter                      int
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
	d, err := daemon.Start(ctx, daemon.Config{StateDir: cfg.StateDir, RunDir: filepath.Dir(cfg.StateDir),
		Xenstored: cfg.Xenstored, Hypervisor: cfg.Hypervisor, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	pid, err := d.Host().Tasks(ctx)
	if err != nil {
		return err
	}
	tc := tasks.NewClient(d.System(), pid)
	errs := make(chan error, len(cfg.VMs))
	done := make(chan struct{}, len(cfg.VMs))
	for _, spec := range cfg.VMs {
		go func() {
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
				return
			}
			done <- struct{}{}
		}()
	}
	want := len(cfg.VMs)
	if cfg.ReadyAfter > 0 {
		want = cfg.ReadyAfter
	}
	for range want {
		select {
		case <-done:
		case err := <-errs:
			return err
		}
	}
	fmt.Println(childReady)
	select {} // until SIGKILL, in the middle of the storm when ReadyAfter is set
}

// killedChild runs a daemon child with cfg until it says it is ready, then
// kills it with SIGKILL.
func killedChild(t *testing.T, cfg childConfig) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+string(raw))
	var stderr testenv.Buffer
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
	require.True(t, ready, "the child never got ready; stderr:\n%s", &stderr)

	// No graceful stop: the kernel drops the state directory's lock.
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
}

func TestDaemon_SIGKILLThenRestartAdoptsEveryDomain(t *testing.T) {
	h, s := remoteHost(t)
	stateDir := t.TempDir()
	cfg := childConfig{StateDir: stateDir, Xenstored: s.Xenstored, Hypervisor: "unix:" + s.Hypervisor}
	for i := range 5 {
		cfg.VMs = append(cfg.VMs, newSpec(i))
	}
	// The child is killed as soon as its last start completed: the
	// records name the domains by then, as the VM's journal writes the
	// domid before the task completes.
	killedChild(t, cfg)

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

func TestDaemon_SIGKILLMidStormThenRestartAccountsForEveryDomain(t *testing.T) {
	h, s := remoteHost(t)
	stateDir := t.TempDir()
	cfg := childConfig{StateDir: stateDir, Xenstored: s.Xenstored, Hypervisor: "unix:" + s.Hypervisor,
		ReadyAfter: 5}
	for i := range 40 {
		cfg.VMs = append(cfg.VMs, newSpec(i))
	}
	// A domain the daemon did not create, which must survive all this.
	foreign := newSpec(200)
	other, err := h.Hypervisor().Create(ctxFor(t), hypervisor.CreateConfig{UUID: foreign.UUID,
		Type: hypervisor.DomainTypePV, MaxVCPUs: 1, MaxMemKiB: 64 << 10})
	require.NoError(t, err)
	killedChild(t, cfg)

	// The new daemon settles every VM Running (its start had finished) or
	// Halted (its start was interrupted and rolled back, or not begun).
	d := start(t, remoteConfig(t, s, stateDir))
	var list []host.VMInfo
	var why error
	assert.Eventually(t, func() bool {
		list, why = d.Host().ListVMs(ctxFor(t))
		if why != nil {
			return false
		}
		for _, info := range list {
			if info.Err != nil || (info.PowerState != vm.Running && info.PowerState != vm.Halted) {
				why = fmt.Errorf("VM %s is %s (%v)", info.Spec.UUID, info.PowerState, info.Err)
				return false
			}
		}
		why = requireAccountedOK(ctxFor(t), h, list, other)
		return why == nil
	}, 3*waitFor, tick)
	require.NoError(t, why, "every VM settles and every domain is accounted for")
	require.NoError(t, requireAccountedOK(ctxFor(t), h, list, other))
	require.LessOrEqual(t, len(list), len(cfg.VMs), "a VM the child had not added yet is not known")

	// The interrupted starts' tasks are failed, naming the interruption,
	// and belong to VMs that are Halted now.
	pid, err := d.Host().Tasks(ctxFor(t))
	require.NoError(t, err)
	tc := tasks.NewClient(d.System(), pid)
	all, err := tc.List(ctxFor(t), "")
	require.NoError(t, err)
	power := make(map[string]vm.PowerState)
	halted := 0
	for _, info := range list {
		power[info.Spec.UUID] = info.PowerState
		if info.PowerState == vm.Halted {
			halted++
		}
	}
	require.Positive(t, halted, "the kill came in the middle of the storm")
	for _, task := range all {
		require.Equal(t, tasks.Failed, task.State, "only interrupted tasks are known: %+v", task)
		require.Contains(t, task.Error, "interrupted")
		require.Equal(t, vm.Halted, power[task.Subject], "an interrupted start is rolled back")
	}

	// Every Halted VM starts now; then they all run and are accounted for.
	for _, info := range list {
		if info.PowerState == vm.Halted {
			c, err := d.Host().VM(ctxFor(t), info.Spec.UUID)
			require.NoError(t, err)
			id, err := c.Start(ctxFor(t), false)
			require.NoError(t, err)
			runTask(t, d, id)
		}
	}
	list, err = d.Host().ListVMs(ctxFor(t))
	require.NoError(t, err)
	for _, info := range list {
		require.Equal(t, vm.Running, info.PowerState)
	}
	require.NoError(t, requireAccountedOK(ctxFor(t), h, list, other))
	_, err = h.Hypervisor().DomainInfo(ctxFor(t), other)
	require.NoError(t, err, "the foreign domain is untouched")
}

// requireAccountedOK checks that every domain of the host but dom0 and
// foreign is the domain of a Running VM of list, and that xenstore holds
// homes, /vm entries and backends of those domains only.
func requireAccountedOK(ctx context.Context, h *sim.Host, list []host.VMInfo, foreign hypervisor.DomID) error {
	running := make(map[string]hypervisor.DomID)
	want := map[string]bool{"0": true}
	for _, info := range list {
		if info.PowerState == vm.Running {
			running[info.Spec.UUID] = info.DomID
			want[info.DomID.String()] = true
		}
	}
	doms, err := h.Hypervisor().ListDomains(ctx)
	if err != nil {
		return err
	}
	if len(doms) != len(running)+2 {
		return fmt.Errorf("%d domains, want dom0, the foreign domain and %d running VMs'", len(doms), len(running))
	}
	for _, info := range doms {
		if info.ID != hypervisor.Dom0 && info.ID != foreign && running[info.UUID] != info.ID {
			return fmt.Errorf("domain %d (%s) is not a running VM's", info.ID, info.UUID)
		}
	}
	nc, err := h.Xenstore().ConnectDomain(0)
	if err != nil {
		return err
	}
	xs := xenstore.NewClient(nc)
	defer xs.Close()
	names := func(dir string) ([]string, error) {
		n, err := xs.Directory(ctx, dir)
		if errdefs.IsNotFound(err) {
			return nil, nil
		}
		return n, err
	}
	for _, dir := range []string{"/local/domain", "/local/domain/0/backend/vbd", "/local/domain/0/backend/vif"} {
		ns, err := names(dir)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if !want[n] {
				return fmt.Errorf("%s/%s is not a running VM's", dir, n)
			}
		}
	}
	ns, err := names("/vm")
	if err != nil {
		return err
	}
	for _, n := range ns {
		if _, ok := running[n]; !ok {
			return fmt.Errorf("/vm/%s is not a running VM's", n)
		}
	}
	return nil
}
