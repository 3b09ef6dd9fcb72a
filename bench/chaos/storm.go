package chaos

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The operations of the storm, as the report counts them.
const (
	OpCreate       = "create"
	OpStart        = "start"
	OpShutdown     = "shutdown"
	OpShutdownHard = "shutdown-hard"
	OpReboot       = "reboot"
	OpPause        = "pause"
	OpUnpause      = "unpause"
	OpSuspend      = "suspend"
	OpResume       = "resume"
	OpPlugVBD      = "plug-vbd"
	OpUnplugVBD    = "unplug-vbd"
	OpPlugVIF      = "plug-vif"
	OpUnplugVIF    = "unplug-vif"
	OpDestroy      = "destroy"
	OpRemove       = "remove"
)

// ResultOK is the result of an operation that succeeded; a failed one's is
// its errdefs kind ("other" when it has none).
const ResultOK = "ok"

// hotVBD and hotVIF are the devices the storm hot-plugs and unplugs.
const (
	hotVBD = 51728 // xvdb
	hotVIF = 1
)

// SR is the storage repository of the daemon whose plugin the storage
// faults make slow or failing: the storm's hot-plugged VBD is a VDI of it.
const SR = "chaos"

// hostileKernels are the misbehaving guests of FaultHostile.
var hostileKernels = []string{"sim:hostile-noack", "sim:hostile-junk", "sim:hostile-quota", "sim:hostile-flapper"}

// StormResult is what one storm did.
type StormResult struct {
	// Ops counts the operations by "<op>: <result>".
	Ops map[string]int
	// Faults counts the faults armed by kind; Hit those that went off
	// (the Injector's count since the daemon started).
	Faults map[string]int
	Hit    map[string]int `json:",omitempty"`
	// Unavailable are the kinds the daemon could not inject.
	Unavailable []string `json:",omitempty"`
}

// stormState is one storm's counters.
type stormState struct {
	mu     sync.Mutex
	res    StormResult
	suffix int
}

func (s *stormState) op(op string, err error) {
	res := ResultOK
	if err != nil {
		if res = errdefs.Kind(err); res == "" {
			res = "other"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Ops[op+": "+res]++
}

func (s *stormState) fault(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Faults[kind]++
}

// VMUUID is the uuid of VM i of the storm's pool.
func VMUUID(i int) string { return fmt.Sprintf("c4a05000-0000-4000-8000-%012x", i) }

// runStorm runs cfg.Workers workers for c.Duration, each picking a VM of the
// pool and an operation its state allows, while a fault loop arms faults of
// the daemon's process every cfg.FaultInterval on average. It calls partial
// with the result so far every partialEvery.
func runStorm(ctx context.Context, c *client.Client, inj Injector, cfg ChildConfig, cmd command,
	partial func(StormResult)) StormResult {
	s := &stormState{res: StormResult{Ops: make(map[string]int), Faults: make(map[string]int)}}
	ctx, cancel := context.WithTimeout(ctx, cmd.Duration)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(partialEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				partial(s.snapshot(inj))
			}
		}
	})
	for w := range max(cfg.Workers, 1) {
		r := rand.New(rand.NewSource(cmd.Seed*1000 + int64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				stormStep(ctx, c, s, cfg, r, cmd.Run)
			}
		})
	}
	kinds := only(cfg.Faults, childFaults)
	if len(kinds) > 0 && cfg.FaultInterval > 0 {
		r := rand.New(rand.NewSource(cmd.Seed*1000 + 999))
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(r.ExpFloat64() * float64(cfg.FaultInterval))):
				}
				kind := kinds[r.Intn(len(kinds))]
				err := inj.Inject(ctx, kind, VMUUID(r.Intn(cfg.VMs)))
				switch {
				case err == nil:
					s.fault(kind)
				case errdefs.IsNotImplemented(err):
					s.mu.Lock()
					if !slices.Contains(s.res.Unavailable, kind) {
						s.res.Unavailable = append(s.res.Unavailable, kind)
					}
					s.mu.Unlock()
					kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == kind })
					if len(kinds) == 0 {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	inj.Lift()
	return s.snapshot(inj)
}

// snapshot copies the result so far.
func (s *stormState) snapshot(inj Injector) StormResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StormResult{Ops: maps.Clone(s.res.Ops), Faults: maps.Clone(s.res.Faults), Hit: inj.Hit(),
		Unavailable: slices.Clone(s.res.Unavailable)}
}

// stormStep runs one operation on a VM of the pool picked with r.
func stormStep(ctx context.Context, c *client.Client, s *stormState, cfg ChildConfig, r *rand.Rand, run int) {
	i := r.Intn(cfg.VMs)
	uuid := VMUUID(i)
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	defer cancel()
	st, err := c.StatVM(octx, uuid)
	if errdefs.IsNotFound(err) {
		kernel := "sim:linux"
		if slices.Contains(cfg.Faults, FaultHostile) && r.Intn(4) == 0 {
			kernel = hostileKernels[r.Intn(len(hostileKernels))]
			s.fault(FaultHostile)
		}
		s.op(OpCreate, c.CreateVM(octx, vmSpec(uuid, i, kernel)))
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			s.op("stat", err)
		}
		return
	}
	task := func(op string, f func() (*client.Task, error)) {
		t, err := f()
		if err == nil {
			_, err = t.Wait(octx, nil)
			if err == nil {
				_ = c.DestroyTask(octx, t.ID) // the failed ones stay, for the checker's reports
			}
		}
		if ctx.Err() != nil && err != nil {
			return // the storm ended, not the operation
		}
		s.op(op, err)
	}
	hasVBD := slices.ContainsFunc(st.GetSpec().GetVbds(), func(v *messages.VBD) bool { return v.GetDevid() == hotVBD })
	hasVIF := slices.ContainsFunc(st.GetSpec().GetVifs(), func(v *messages.VIF) bool { return v.GetDevid() == hotVIF })
	plug := func() {
		switch r.Intn(2) {
		case 0:
			if hasVBD {
				task(OpUnplugVBD, func() (*client.Task, error) { return c.UnplugVBD(octx, uuid, hotVBD, r.Intn(2) == 0) })
			} else {
				task(OpPlugVBD, func() (*client.Task, error) {
					return c.PlugVBD(octx, uuid, &messages.VBD{Devid: hotVBD, Vdi: fmt.Sprintf("%s/vol-%d", SR, i)})
				})
			}
		default:
			if hasVIF {
				task(OpUnplugVIF, func() (*client.Task, error) { return c.UnplugVIF(octx, uuid, hotVIF, r.Intn(2) == 0) })
			} else {
				task(OpPlugVIF, func() (*client.Task, error) {
					return c.PlugVIF(octx, uuid, &messages.VIF{Devid: hotVIF, Mac: vmMAC(i, hotVIF), Bridge: "xenbr0"})
				})
			}
		}
	}
	switch st.GetPowerState() {
	case messages.PowerState_POWER_STATE_HALTED:
		switch n := r.Intn(10); {
		case n < 7:
			task(OpStart, func() (*client.Task, error) { return c.StartVM(octx, uuid, false) })
		case n < 8:
			s.op(OpRemove, c.RemoveVM(octx, uuid))
		default:
			plug()
		}
	case messages.PowerState_POWER_STATE_RUNNING:
		switch n := r.Intn(20); {
		case n < 3:
			task(OpShutdown, func() (*client.Task, error) { return c.ShutdownVM(octx, uuid, false) })
		case n < 6:
			task(OpShutdownHard, func() (*client.Task, error) { return c.ShutdownVM(octx, uuid, true) })
		case n < 8:
			task(OpReboot, func() (*client.Task, error) { return c.RebootVM(octx, uuid, r.Intn(2) == 0) })
		case n < 9:
			task(OpPause, func() (*client.Task, error) { return c.PauseVM(octx, uuid) })
		case n < 11:
			path := filepath.Join(cfg.RunDir, "suspend", fmt.Sprintf("%s-%d-%d", uuid, run, r.Int63()))
			task(OpSuspend, func() (*client.Task, error) { return c.SuspendVM(octx, uuid, path) })
		case n < 12:
			task(OpDestroy, func() (*client.Task, error) { return c.DestroyVM(octx, uuid) })
		default:
			plug()
		}
	case messages.PowerState_POWER_STATE_PAUSED:
		if r.Intn(3) == 0 {
			task(OpShutdownHard, func() (*client.Task, error) { return c.ShutdownVM(octx, uuid, true) })
		} else {
			task(OpUnpause, func() (*client.Task, error) { return c.UnpauseVM(octx, uuid) })
		}
	case messages.PowerState_POWER_STATE_SUSPENDED:
		if r.Intn(4) == 0 {
			task(OpDestroy, func() (*client.Task, error) { return c.DestroyVM(octx, uuid) })
		} else {
			task(OpResume, func() (*client.Task, error) { return c.ResumeVM(octx, uuid, false) })
		}
	default: // Shutdown
		task(OpDestroy, func() (*client.Task, error) { return c.DestroyVM(octx, uuid) })
	}
}

// vmSpec is VM i of the pool: PV, 64 MiB, one VBD and one VIF, booting
// kernel.
func vmSpec(uuid string, i int, kernel string) *messages.VMSpec {
	return &messages.VMSpec{Uuid: uuid, Name: fmt.Sprintf("chaos-%d", i), Type: messages.DomainType_DOMAIN_TYPE_PV,
		Vcpus: 1, MemoryKib: 64 << 10, Kernel: kernel,
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: vmMAC(i, 0), Bridge: "xenbr0"}}}
}

// vmMAC is the MAC of VIF devid of VM i, unique in the pool.
func vmMAC(i, devid int) string {
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", (i>>8)&0xff, i&0xff, devid&0xff)
}
