package loadbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The kinds of a Job besides the scenarios churn, guests and hotplug.
const (
	// jobSetup creates and starts Job.UUIDs (the storm; the VMs of the
	// other scenarios; a level of the scaling run).
	jobSetup = "setup"
	// jobTeardown destroys and removes Job.UUIDs.
	jobTeardown = "teardown"
	// jobProbe creates, starts, destroys and removes Job.UUIDs one at a
	// time, timing the starts.
	jobProbe = "probe"
)

// Job is one step of a scenario a worker runs over its connection.
type Job struct {
	Kind string
	// UUIDs are this worker's VMs; Goroutines its goroutines.
	UUIDs      []string
	Goroutines int
	Duration   Duration `json:",omitempty"`
	MemoryKiB  uint64   `json:",omitempty"`
	// Kernel is the VMs' kernel (a simulated guest profile).
	Kernel  string  `json:",omitempty"`
	Weights Weights `json:",omitempty"`
	Seed    int64   `json:",omitempty"`
	// Running is the VMs running before the job, the base of Point.Running.
	Running int `json:",omitempty"`
}

// runJob runs j with c; rc receives its operations.
func runJob(ctx context.Context, c *client.Client, j Job, rc *recorder) error {
	g := max(j.Goroutines, 1)
	start := time.Now()
	var err error
	switch j.Kind {
	case jobSetup:
		each(j.UUIDs, g, func(uuid string) { setupVM(ctx, c, j, rc, uuid) })
	case jobTeardown:
		each(j.UUIDs, g, func(uuid string) { teardownVM(ctx, c, rc, uuid) })
	case jobProbe:
		for _, uuid := range j.UUIDs {
			probeVM(ctx, c, j, rc, uuid)
		}
	case ScenarioChurn:
		split(j.UUIDs, g, func(i int, uuids []string) { churn(ctx, c, j, rc, i, uuids) })
	case ScenarioHotplug:
		split(j.UUIDs, g, func(_ int, uuids []string) { hotplug(ctx, c, j, rc, uuids) })
	case ScenarioGuests:
		err = followEvents(ctx, c, j, rc)
	default:
		return fmt.Errorf("loadbench: unknown job %q: %w", j.Kind, errdefs.ErrInvalid)
	}
	rc.mu.Lock()
	rc.r.Elapsed = time.Since(start)
	rc.r.Running = rc.running
	rc.mu.Unlock()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// each calls f for every uuid, on g goroutines.
func each(uuids []string, g int, f func(string)) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range min(g, max(len(uuids), 1)) {
		wg.Go(func() {
			for u := range ch {
				f(u)
			}
		})
	}
	for _, u := range uuids {
		ch <- u
	}
	close(ch)
	wg.Wait()
}

// split calls f on g goroutines, each with its own share of uuids.
func split(uuids []string, g int, f func(int, []string)) {
	shares := make([][]string, min(g, len(uuids)))
	for i, u := range uuids {
		shares[i%len(shares)] = append(shares[i%len(shares)], u)
	}
	var wg sync.WaitGroup
	for i, s := range shares {
		wg.Go(func() { f(i, s) })
	}
	wg.Wait()
}

// timed runs op as the operation name, recording it; it returns op's error.
func timed(rc *recorder, name string, running int, op func() error) error {
	t0 := time.Now()
	if err := op(); err != nil {
		rc.fail(name, err)
		return err
	}
	rc.ok(name, t0, running)
	return nil
}

// await calls op and waits for its task; the finished task is forgotten
// so that a long run does not keep them.
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

// setupVM creates and starts uuid.
func setupVM(ctx context.Context, c *client.Client, j Job, rc *recorder, uuid string) {
	if timed(rc, OpCreate, 0, func() error { return c.CreateVM(ctx, vmSpec(uuid, j.MemoryKiB, j.Kernel)) }) != nil {
		return
	}
	running := j.Running + rc.addRunning(0)
	err := timed(rc, OpStart, running, func() error {
		return await(ctx, c, func() (*client.Task, error) { return c.StartVM(ctx, uuid, false) })
	})
	if err == nil {
		rc.addRunning(1)
	}
}

// teardownVM destroys and removes uuid, whatever its state.
func teardownVM(ctx context.Context, c *client.Client, rc *recorder, uuid string) {
	if st, err := c.StatVM(ctx, uuid); err == nil && st.GetPowerState() != messages.PowerState_POWER_STATE_HALTED {
		_ = timed(rc, "destroy", 0, func() error {
			return await(ctx, c, func() (*client.Task, error) { return c.DestroyVM(ctx, uuid) })
		})
	}
	_ = timed(rc, "remove", 0, func() error { return c.RemoveVM(ctx, uuid) })
}

// probeVM creates, starts (timed as OpProbe), destroys and removes uuid.
func probeVM(ctx context.Context, c *client.Client, j Job, rc *recorder, uuid string) {
	if err := c.CreateVM(ctx, vmSpec(uuid, j.MemoryKiB, j.Kernel)); err != nil {
		rc.fail(OpCreate, err)
		return
	}
	_ = timed(rc, OpProbe, j.Running, func() error {
		return await(ctx, c, func() (*client.Task, error) { return c.StartVM(ctx, uuid, false) })
	})
	teardownVM(ctx, c, rc, uuid)
}

// churnOps are the operations of the churn mix.
var churnOps = []string{OpStart, OpReboot, OpShutdown, OpPause, OpUnpause}

// churnAllowed are the operations the churn may take in each state.
var churnAllowed = map[messages.PowerState][]string{
	messages.PowerState_POWER_STATE_HALTED:  {OpStart},
	messages.PowerState_POWER_STATE_RUNNING: {OpReboot, OpShutdown, OpPause},
	messages.PowerState_POWER_STATE_PAUSED:  {OpUnpause},
}

// churn runs the weighted mix on uuids (all running at first) until the
// job's duration ends; goroutine i seeds its choices with Seed+i.
func churn(ctx context.Context, c *client.Client, j Job, rc *recorder, i int, uuids []string) {
	rnd := rand.New(rand.NewPCG(uint64(j.Seed), uint64(i)))
	state := make(map[string]messages.PowerState, len(uuids))
	for _, u := range uuids {
		state[u] = messages.PowerState_POWER_STATE_RUNNING
	}
	calls := map[string]func(uuid string) (*client.Task, error){
		OpStart:    func(u string) (*client.Task, error) { return c.StartVM(ctx, u, false) },
		OpReboot:   func(u string) (*client.Task, error) { return c.RebootVM(ctx, u, false) },
		OpShutdown: func(u string) (*client.Task, error) { return c.ShutdownVM(ctx, u, false) },
		OpPause:    func(u string) (*client.Task, error) { return c.PauseVM(ctx, u) },
		OpUnpause:  func(u string) (*client.Task, error) { return c.UnpauseVM(ctx, u) },
	}
	after := map[string]messages.PowerState{OpStart: messages.PowerState_POWER_STATE_RUNNING,
		OpReboot: messages.PowerState_POWER_STATE_RUNNING, OpShutdown: messages.PowerState_POWER_STATE_HALTED,
		OpPause: messages.PowerState_POWER_STATE_PAUSED, OpUnpause: messages.PowerState_POWER_STATE_RUNNING}
	end := time.Now().Add(time.Duration(j.Duration))
	for idle := 0; time.Now().Before(end) && ctx.Err() == nil && idle < 2*len(uuids); {
		u := uuids[rnd.IntN(len(uuids))]
		op := pick(rnd, churnAllowed[state[u]], j.Weights)
		if op == "" {
			idle++ // no operation of the mix applies in this state
			continue
		}
		idle = 0
		call := func() (*client.Task, error) { return calls[op](u) }
		if err := timed(rc, op, 0, func() error { return await(ctx, c, call) }); err != nil {
			// Learn the VM's state again before its next operation.
			if st, err := c.StatVM(ctx, u); err == nil {
				state[u] = st.GetPowerState()
			}
			continue
		}
		state[u] = after[op]
	}
}

// pick chooses one of ops by its weight; "" when none has one.
func pick(rnd *rand.Rand, ops []string, w Weights) string {
	sum := 0
	for _, op := range ops {
		sum += max(w[op], 0)
	}
	if sum == 0 {
		return ""
	}
	n := rnd.IntN(sum)
	for _, op := range ops {
		if n -= max(w[op], 0); n < 0 {
			return op
		}
	}
	return ""
}

// hotplugVBD and hotplugVIF are the devices hotplug plugs and unplugs.
const (
	hotplugVBD = 51728 // xvdb
	hotplugVIF = 1
)

// hotplug plugs and unplugs a VBD and a VIF on each of uuids in turn until
// the job's duration ends.
func hotplug(ctx context.Context, c *client.Client, j Job, rc *recorder, uuids []string) {
	end := time.Now().Add(time.Duration(j.Duration))
	for k := 0; time.Now().Before(end) && ctx.Err() == nil; k++ {
		u := uuids[k%len(uuids)]
		tail := u[len(u)-6:]
		vif := &messages.VIF{Devid: hotplugVIF, Mac: "00:16:3f:" + tail[0:2] + ":" + tail[2:4] + ":" + tail[4:6],
			Bridge: "xenbr0"}
		steps := []struct {
			op   string
			call func() (*client.Task, error)
		}{
			{OpPlugVBD, func() (*client.Task, error) {
				return c.PlugVBD(ctx, u, &messages.VBD{Devid: hotplugVBD, Params: "/dev/loop1"})
			}},
			{OpUnplugVBD, func() (*client.Task, error) { return c.UnplugVBD(ctx, u, hotplugVBD, false) }},
			{OpPlugVIF, func() (*client.Task, error) { return c.PlugVIF(ctx, u, vif) }},
			{OpUnplugVIF, func() (*client.Task, error) { return c.UnplugVIF(ctx, u, hotplugVIF, false) }},
		}
		for _, s := range steps {
			if timed(rc, s.op, 0, func() error { return await(ctx, c, s.call) }) != nil {
				break
			}
		}
	}
}

// followEvents follows the update stream for the job's duration, counting
// its batches and ids.
func followEvents(ctx context.Context, c *client.Client, j Job, rc *recorder) error {
	b, err := c.Barrier(ctx)
	if err != nil {
		return fmt.Errorf("loadbench: a barrier to follow the update stream from: %w", err)
	}
	from := b.GetSeq()
	end := time.Now().Add(time.Duration(j.Duration))
	for left := time.Until(end); left > 0 && ctx.Err() == nil; left = time.Until(end) {
		batch, err := c.NextEvents(ctx, from, left)
		if err != nil {
			rc.fail("events", err)
			return nil
		}
		from = batch.GetNext()
		if n := len(batch.GetIds()) + len(batch.GetRemoved()); n > 0 {
			rc.mu.Lock()
			rc.r.Batches++
			rc.r.Events += n
			rc.ops += n
			rc.mu.Unlock()
		}
	}
	return nil
}

// vmSpec is a PV VM of memKiB with one VBD and one VIF, booting kernel (a
// simulated guest profile, "sim:linux" when empty).
func vmSpec(uuid string, memKiB uint64, kernel string) *messages.VMSpec {
	if kernel == "" {
		kernel = "sim:linux"
	}
	// The uuid's last 6 hex digits make the MAC unique in a run.
	tail := uuid[len(uuid)-6:]
	return &messages.VMSpec{Uuid: uuid, Name: "load-" + uuid[len(uuid)-8:], Type: messages.DomainType_DOMAIN_TYPE_PV,
		Vcpus: 1, MemoryKib: memKiB, Kernel: kernel,
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:" + tail[0:2] + ":" + tail[2:4] + ":" + tail[4:6],
			Bridge: "xenbr0"}}}
}

// vmUUID is the uuid of VM i; probe VMs have their own range.
func vmUUID(i int, probe bool) string {
	// The probe bit is in the last 6 hex digits, which make the MAC.
	if probe {
		i |= 1 << 23
	}
	return fmt.Sprintf("10adbe00-0000-4000-8000-000000%06x", i)
}
