package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/api"
	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/hostio/guestagent"
	"github.com/xenactor/xenactor/hostio/sim"
	"github.com/xenactor/xenactor/hostio/sim/simtest"
	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/messages"
)

const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
	mac     = "00:16:3e:00:00:01"
)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// toolstack is a simulated host driven by a host actor and the API, as
// xenactord runs them, with a client of the API.
type toolstack struct {
	h *sim.Host
	c *client.Client
}

func newToolstack(t *testing.T) *toolstack {
	t.Helper()
	h := simtest.NewHost(t)
	store, err := statedir.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	system := actortest.System(t)
	pid, err := system.Root.SpawnNamed(host.Props(host.Config{StateDir: store, Hypervisor: h.Hypervisor(),
		Dial: simtest.Dom0Dialer(h), Hotplug: h.Hotplug().Device(),
		TuneVM: func(c *vm.Config) { c.UnplugTimeout, c.AckTimeout = 2*time.Second, time.Minute }}), "host")
	require.NoError(t, err)
	apiPID, err := system.Root.SpawnNamed(api.Props(api.Config{Host: host.NewClient(system, pid),
		Hostname: "testhost", Hypervisor: "sim", SuspendDir: filepath.Join(t.TempDir(), "suspend"),
		HostMemory: func(context.Context) (uint64, uint64, error) { return 1 << 20, 1 << 19, nil }}), api.Name)
	require.NoError(t, err)
	c := client.New(client.InProcess(system, apiPID))
	t.Cleanup(func() { _ = c.Close() })
	return &toolstack{h: h, c: c}
}

// startVM creates and starts a PV guest with a VIF whose simulated kernel
// runs no agent, and returns its uuid.
func (ts *toolstack) startVM(t *testing.T) string {
	t.Helper()
	ctx := tctx(t)
	spec := &messages.VMSpec{Uuid: "6f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3b", Name: "agent-test",
		Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1, MemoryKib: 64 << 10, Kernel: "sim:linux-noagent",
		OnShutdown: messages.Action_ACTION_DESTROY,
		Vifs:       []*messages.VIF{{Devid: 0, Mac: mac, Bridge: "xenbr0"}}}
	require.NoError(t, ts.c.CreateVM(ctx, spec))
	succeed(t)(ts.c.StartVM(ctx, spec.Uuid, false))
	return spec.Uuid
}

// succeed returns a function that waits for the task of an operation and
// requires it completed: succeed(t)(c.StartVM(...)).
func succeed(t *testing.T) func(*client.Task, error) {
	return func(task *client.Task, err error) {
		t.Helper()
		require.NoError(t, err)
		done, err := task.Wait(tctx(t), nil)
		require.NoError(t, err)
		require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, done.State)
	}
}

// guestDialer connects as VM uuid's current domain, as the guest's kernel
// does through its xenbus device.
func (ts *toolstack) guestDialer(uuid string) func(ctx context.Context) (*xenstore.Client, error) {
	return func(ctx context.Context) (*xenstore.Client, error) {
		st, err := ts.c.StatVM(ctx, uuid)
		if err != nil {
			return nil, err
		}
		if st.PowerState != messages.PowerState_POWER_STATE_RUNNING {
			return nil, fmt.Errorf("vm is %s", st.PowerState)
		}
		nc, err := ts.h.Xenstore().ConnectDomain(st.Domid)
		if err != nil {
			return nil, err
		}
		return xenstore.NewClient(nc), nil
	}
}

// fakeLinux is a Linux guest's OS with one interface on the VIF.
func fakeLinux() guestagent.Source {
	return guestagent.SourceFunc(func(context.Context) (guestagent.Snapshot, error) {
		return guestagent.Snapshot{Hostname: "vm1",
			OS: guestagent.OS{Name: "Alpine Linux v3.20", Distro: "alpine", Major: "3", Minor: "20",
				Uname: "6.6.31-0-virt"},
			Memory:       guestagent.Memory{TotalKiB: 60000, FreeKiB: 41000},
			Balloon:      true,
			PVDrivers:    version,
			AgentVersion: map[string]string{"major": "1"},
			Interfaces: []guestagent.Interface{{Name: "eth0", MAC: mac,
				Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}}},
		}, nil
	})
}

// runAgent runs the agent's loop (what Main runs) until the test ends.
func runAgent(t *testing.T, cfg guestagent.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// agentReported reports whether st shows what fakeLinux's agent reports.
func agentReported(st *messages.VMStatus) bool {
	g := st.GetGuest()
	n := g.GetNetworks()[0]
	return g != nil && g.OsName == "Alpine Linux v3.20" && g.OsDistro == "alpine" && g.OsMajor == 3 &&
		g.OsMinor == 20 && g.OsUname == "6.6.31-0-virt" && g.MemoryTotalKib == 60000 &&
		g.MemoryFreeKib == 41000 && g.PvDriversInstalled && g.PvDriversVersion == "1.0.0-0" &&
		slices.Contains(g.Features, "balloon") && slices.Equal(n.GetIpv4(), []string{"192.0.2.10"}) &&
		slices.Equal(n.GetIpv6(), []string{"2001:db8::10"})
}

// The guest metrics of the API (xenactor vm stat) show what the agent
// wrote, through a suspend and resume into a new domain, where the agent
// notices the new unique-domain-id and reports everything again.
func TestAgent_GuestMetricsInVMStatus(t *testing.T) {
	ts := newToolstack(t)
	uuid := ts.startVM(t)
	ctx := tctx(t)
	st, err := ts.c.StatVM(ctx, uuid)
	require.NoError(t, err)
	require.Empty(t, st.GetGuest().GetOsName(), "the simulated kernel runs no agent")

	var (
		mu         sync.Mutex
		newDomains int
	)
	runAgent(t, guestagent.Config{Dial: ts.guestDialer(uuid), Source: fakeLinux(), Interval: 20 * time.Millisecond,
		OnRound: func(res guestagent.Result, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil && res.NewDomain && slices.Contains(res.Written, "data/os_name") {
				newDomains++
			}
		}})
	require.Eventually(t, func() bool {
		st, err := ts.c.StatVM(ctx, uuid)
		return err == nil && agentReported(st)
	}, waitFor, tick, "the agent's reports reach the VM's status")

	// Suspend and resume: the resumed guest is a new domain, whose home
	// has none of the reports; the agent republishes them all.
	succeed(t)(ts.c.SuspendVM(ctx, uuid, ""))
	succeed(t)(ts.c.ResumeVM(ctx, uuid, false))
	require.Eventually(t, func() bool {
		st, err := ts.c.StatVM(ctx, uuid)
		return err == nil && st.PowerState == messages.PowerState_POWER_STATE_RUNNING && agentReported(st)
	}, waitFor, tick, "the agent reports again in the resumed domain")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, newDomains, "published in full once per domain")
}

func TestMain_Flags(t *testing.T) {
	for _, argv := range [][]string{{"-interval", "0s"}, {"-bogus"}, {"extra"}} {
		var stderr bytes.Buffer
		require.Equal(t, 2, Main(context.Background(), argv, &stderr), "%v", argv)
	}
	var stderr bytes.Buffer
	require.Equal(t, 1, Main(tctx(t), []string{"-once", "-xenbus", filepath.Join(t.TempDir(), "none")}, &stderr))
	require.Contains(t, stderr.String(), "report failed")
}

// Main against a xenstored socket (a privileged connection, so the keys
// land in dom0's home): one round of this machine's own reports.
func TestMain_OnceThroughSocket(t *testing.T) {
	h := simtest.NewHost(t)
	socks := simtest.Serve(t, h)
	var stderr bytes.Buffer
	require.Equal(t, 0, Main(tctx(t), []string{"-once", "-v", "-xenbus", socks.Xenstored}, &stderr), stderr.String())
	dom0 := simtest.Dom0(t, h)
	for _, k := range []string{"data/os_uname", "data/meminfo_total", "data/updated", "attr/PVAddons/Installed"} {
		v, err := dom0.Read(tctx(t), "/local/domain/0/"+k)
		require.NoError(t, err, k)
		require.NotEmpty(t, v, k)
	}
}

// SIGTERM (the context Main runs under ending) stops the agent cleanly.
func TestMain_ExitsWhenContextEnds(t *testing.T) {
	h := simtest.NewHost(t)
	socks := simtest.Serve(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- Main(ctx, []string{"-interval", "10ms", "-xenbus", socks.Xenstored}, &stderr) }()
	dom0 := simtest.Dom0(t, h)
	require.Eventually(t, func() bool {
		_, err := dom0.Read(tctx(t), "/local/domain/0/data/updated")
		return err == nil
	}, waitFor, tick)
	cancel()
	require.Equal(t, 0, <-done)
	require.Contains(t, stderr.String(), "exiting")
}
