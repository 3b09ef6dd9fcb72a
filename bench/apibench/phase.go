package apibench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The scenarios of a Phase.
const (
	// ScenarioPrepare creates and starts the VM the stat scenario reads.
	ScenarioPrepare = "prepare"
	// ScenarioStat calls StatVM of one running VM in a loop.
	ScenarioStat = "stat"
	// ScenarioVMOps creates, starts, shuts down hard and removes VMs, one
	// after the other.
	ScenarioVMOps = "vm-ops"
)

// The operations a Sample times.
const (
	OpStat     = "stat"
	OpCreate   = "create"
	OpStart    = "start"
	OpShutdown = "shutdown"
	OpRemove   = "remove"
)

// VMOps are the operations of ScenarioVMOps, in their order.
var VMOps = []string{OpCreate, OpStart, OpShutdown, OpRemove}

// maxErrorTexts caps the error messages a Sample keeps.
const maxErrorTexts = 5

// Phase is one step every client of a run takes at the same time.
type Phase struct {
	Scenario string
	// Duration is how long ScenarioStat calls.
	Duration time.Duration `json:",omitempty"`
	// UUID is the VM ScenarioStat reads and ScenarioPrepare starts.
	UUID string `json:",omitempty"`
	// UUIDs are this client's VMs of ScenarioVMOps.
	UUIDs []string `json:",omitempty"`
	// MemoryKiB is each VM's memory.
	MemoryKiB uint64 `json:",omitempty"`
}

// Sample is what one client measured in one Phase.
type Sample struct {
	// Elapsed is the time from the phase's first call to its last answer.
	Elapsed time.Duration
	// Latencies holds each successful call's latency by operation (Op*);
	// an operation that starts a task includes the wait for its end.
	Latencies map[string][]time.Duration
	// Errors counts the failed calls by "<op>: <errdefs kind>" (kind
	// "other" when the error wraps none); Messages holds the first few.
	Errors   map[string]int `json:",omitempty"`
	Messages []string       `json:",omitempty"`
}

func (s *Sample) ok(op string, d time.Duration) {
	if s.Latencies == nil {
		s.Latencies = make(map[string][]time.Duration)
	}
	s.Latencies[op] = append(s.Latencies[op], d)
}

func (s *Sample) fail(op string, err error) {
	kind := errdefs.Kind(err)
	if kind == "" {
		kind = "other"
	}
	if s.Errors == nil {
		s.Errors = make(map[string]int)
	}
	s.Errors[op+": "+kind]++
	if len(s.Messages) < maxErrorTexts {
		s.Messages = append(s.Messages, op+": "+err.Error())
	}
}

// RunPhase runs p with c and returns what it measured. Failed calls are
// counted in the sample, never returned; the error is for a phase it cannot
// run.
func RunPhase(ctx context.Context, c *client.Client, p Phase) (Sample, error) {
	var s Sample
	start := time.Now()
	switch p.Scenario {
	case ScenarioPrepare:
		if err := c.CreateVM(ctx, vmSpec(p.UUID, p.MemoryKiB)); err != nil {
			return s, fmt.Errorf("apibench: creating the stat VM: %w", err)
		}
		if err := await(ctx, c, func() (*client.Task, error) { return c.StartVM(ctx, p.UUID, false) }); err != nil {
			return s, fmt.Errorf("apibench: starting the stat VM: %w", err)
		}
	case ScenarioStat:
		for end := start.Add(p.Duration); time.Now().Before(end) && ctx.Err() == nil; {
			t0 := time.Now()
			if _, err := c.StatVM(ctx, p.UUID); err != nil {
				s.fail(OpStat, err)
				continue
			}
			s.ok(OpStat, time.Since(t0))
		}
	case ScenarioVMOps:
		for _, uuid := range p.UUIDs {
			vmOps(ctx, c, &s, uuid, p.MemoryKiB)
		}
	default:
		return s, fmt.Errorf("apibench: unknown scenario %q: %w", p.Scenario, errdefs.ErrInvalid)
	}
	s.Elapsed = time.Since(start)
	return s, ctx.Err()
}

// runPhases runs each of phases on its own goroutine with c and returns
// their samples, in order.
func runPhases(ctx context.Context, c *client.Client, phases []Phase) ([]Sample, error) {
	samples := make([]Sample, len(phases))
	errs := make([]error, len(phases))
	var wg sync.WaitGroup
	for i, p := range phases {
		wg.Go(func() { samples[i], errs[i] = RunPhase(ctx, c, p) })
	}
	wg.Wait()
	return samples, errors.Join(errs...)
}

// vmOps takes VM uuid through create, start, hard shutdown and remove,
// timing each; after a failure it removes what it can, untimed.
func vmOps(ctx context.Context, c *client.Client, s *Sample, uuid string, memKiB uint64) {
	steps := []func() error{
		func() error { return c.CreateVM(ctx, vmSpec(uuid, memKiB)) },
		func() error {
			return await(ctx, c, func() (*client.Task, error) { return c.StartVM(ctx, uuid, false) })
		},
		func() error {
			return await(ctx, c, func() (*client.Task, error) { return c.ShutdownVM(ctx, uuid, true) })
		},
		func() error { return c.RemoveVM(ctx, uuid) },
	}
	for i, step := range steps {
		t0 := time.Now()
		if err := step(); err != nil {
			s.fail(VMOps[i], err)
			if i > 0 {
				if t, err := c.DestroyVM(ctx, uuid); err == nil {
					_, _ = t.Wait(ctx, nil)
				}
				_ = c.RemoveVM(ctx, uuid)
			}
			return
		}
		s.ok(VMOps[i], time.Since(t0))
	}
}

// await calls op and waits for its task; the finished task is forgotten so
// that a long run does not keep them.
func await(ctx context.Context, c *client.Client, op func() (*client.Task, error)) error {
	t, err := op()
	if err != nil {
		return err
	}
	if _, err := t.Wait(ctx, nil); err != nil {
		return err
	}
	return c.DestroyTask(ctx, t.ID)
}

// vmSpec is a PV VM of memKiB with one VBD and one VIF, booting the
// simulated Linux guest.
func vmSpec(uuid string, memKiB uint64) *messages.VMSpec {
	// The uuid's last 6 bytes make the MAC unique in a run.
	tail := uuid[len(uuid)-6:]
	return &messages.VMSpec{Uuid: uuid, Name: "bench-" + uuid[len(uuid)-8:], Type: messages.DomainType_DOMAIN_TYPE_PV,
		Vcpus: 1, MemoryKib: memKiB, Kernel: "sim:linux",
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:" + tail[0:2] + ":" + tail[2:4] + ":" + tail[4:6],
			Bridge: "xenbr0"}}}
}

// vmUUID is the uuid of VM i of the VM operations of the client count at
// position run.
func vmUUID(run, i int) string {
	return fmt.Sprintf("a9b0e000-0000-4000-8000-%06x%06x", run, i)
}

// statUUID is the VM the stat scenario reads.
const statUUID = "a9b0e000-0000-4000-8000-ffffffffffff"
