package pool

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// DefaultEvacuateBatch is how many VMs an evacuation moves at once when the
// request says 0.
const DefaultEvacuateBatch = 8

// MigrateFunc live-migrates the VM uuid, which has a domain, from the pool
// host source to the pool host target, and returns once it runs there (or
// failed and still runs on source).
type MigrateFunc func(ctx context.Context, source, uuid, target string) error

// How an evacuated VM went (EvacuatedVM.how).
const (
	HowMoved    = "moved"
	HowMigrated = "migrated"
)

// placement is a VM of an evacuation and the host chosen for it, with the
// other hosts that had room for it when the plan was made, best first: the
// VM is tried there, in order, when it cannot go to its first choice.
type placement struct {
	vm   *messages.VMSummary
	to   string
	also []string
}

// maxEvacuateTries bounds the hosts one VM of an evacuation is tried on.
const maxEvacuateTries = 3

// plan chooses a target for each VM among the hosts that are up, source
// excepted: the largest VMs first, each on the host with the most free
// memory left once the VMs placed before it are counted. A VM no host has
// room for gets "".
func plan(hosts []*messages.PoolHost, source string, vms []*messages.VMSummary) []placement {
	free := map[string]uint64{}
	var names []string
	for _, h := range hosts {
		if h.GetUp() && h.GetName() != source {
			free[h.GetName()] = h.GetMemoryFreeKib()
			names = append(names, h.GetName())
		}
	}
	sort.Strings(names)
	order := append([]*messages.VMSummary(nil), vms...)
	sort.SliceStable(order, func(i, j int) bool {
		return order[i].GetSpec().GetMemoryKib() > order[j].GetSpec().GetMemoryKib()
	})
	out := make([]placement, 0, len(order))
	for _, vm := range order {
		need := vm.GetSpec().GetMemoryKib()
		var fit []string
		for _, n := range names {
			if free[n] >= need {
				fit = append(fit, n)
			}
		}
		sort.SliceStable(fit, func(i, j int) bool { return free[fit[i]] > free[fit[j]] })
		pl := placement{vm: vm}
		if len(fit) > 0 {
			pl.to, pl.also = fit[0], fit[1:min(len(fit), maxEvacuateTries)]
			free[pl.to] -= need
		}
		out = append(out, pl)
	}
	return out
}

// Evacuate moves every VM of host to the other hosts that are up, batch at
// a time (0 is DefaultEvacuateBatch), and reports each: a Halted VM's record
// is moved, a Running or Paused VM live-migrated (Config.Migrate, by default
// Pool.Migrate), a Suspended VM stays. host must be up: its VMs are
// asked of it and removed from it. A VM that could not be moved stays on
// host and says why.
func (p *Pool) Evacuate(ctx context.Context, host string, batch int) ([]*messages.EvacuatedVM, error) {
	if batch <= 0 {
		batch = DefaultEvacuateBatch
	}
	states, err := p.survey(ctx, true)
	if err != nil {
		return nil, err
	}
	var src *hostState
	hosts := make([]*messages.PoolHost, 0, len(states))
	for i := range states {
		hosts = append(hosts, states[i].host)
		if states[i].host.GetName() == host {
			src = &states[i]
		}
	}
	switch {
	case src == nil:
		return nil, fmt.Errorf("%w: no pool host %s", errdefs.ErrNotFound, host)
	case !src.live:
		return nil, fmt.Errorf("%w: pool host %s is down: its VMs cannot be moved", errdefs.ErrUnavailable, host)
	}
	plans := plan(hosts, host, src.vms)
	out := make([]*messages.EvacuatedVM, len(plans))
	for start := 0; start < len(plans); start += batch {
		var wg sync.WaitGroup
		for i := start; i < min(start+batch, len(plans)); i++ {
			wg.Go(func() { out[i] = p.evacuateOne(ctx, host, plans[i]) })
		}
		wg.Wait()
	}
	return out, nil
}

// evacuateOne moves one VM as planned: to its first choice, or, when the
// move or migration there fails for a reason of that host's (it is full,
// down, unreachable, slow), to the next host that had room. A VM that
// could not go anywhere stays on host with the errors of each try.
func (p *Pool) evacuateOne(ctx context.Context, host string, pl placement) *messages.EvacuatedVM {
	var ev *messages.EvacuatedVM
	var tried []string
	for i, to := range append([]string{pl.to}, pl.also...) {
		ev = p.evacuateTo(ctx, host, pl.vm, to)
		if ev.GetError() == nil || i == len(pl.also) || ctx.Err() != nil || !hostFault(ev.GetError().GetKind()) {
			break
		}
		tried = append(tried, to+": "+ev.GetError().GetMessage())
	}
	if ev.GetError() != nil && len(tried) > 0 {
		ev.Error.Message = strings.Join(append(tried, ev.GetError().GetMessage()), "; then ")
	}
	return ev
}

// hostFault reports whether an error of the kind named, from moving a VM
// to a host, is that host's, so another host may take the VM.
func hostFault(kind string) bool {
	for _, k := range []error{errdefs.ErrResourceExhausted, errdefs.ErrUnavailable, errdefs.ErrTimeout} {
		if kind == errdefs.Kind(k) {
			return true
		}
	}
	return false
}

// evacuateTo moves one VM to the host to.
func (p *Pool) evacuateTo(ctx context.Context, host string, vm *messages.VMSummary, to string) *messages.EvacuatedVM {
	pl := placement{vm: vm, to: to}
	spec := pl.vm.GetSpec()
	ev := &messages.EvacuatedVM{Uuid: spec.GetUuid(), Name: spec.GetName(), From: host}
	fail := func(err error) *messages.EvacuatedVM {
		ev.To = ""
		ev.Error = &messages.Error{Kind: errdefs.Kind(err), Message: err.Error()}
		return ev
	}
	if pl.to == "" {
		return fail(fmt.Errorf("%w: no other host that is up has %d KiB free for VM %s", errdefs.ErrResourceExhausted,
			spec.GetMemoryKib(), spec.GetUuid()))
	}
	ev.To = pl.to
	switch st := pl.vm.GetPowerState(); st {
	case messages.PowerState_POWER_STATE_HALTED:
		ev.How = HowMoved
		if err := p.moveHalted(ctx, host, pl.to, spec); err != nil {
			return fail(err)
		}
	case messages.PowerState_POWER_STATE_RUNNING, messages.PowerState_POWER_STATE_PAUSED:
		ev.How = HowMigrated
		migrate := p.cfg.Migrate
		if migrate == nil {
			migrate = p.Migrate
		}
		if err := migrate(ctx, host, spec.GetUuid(), pl.to); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("%w: VM %s is %s: it stays on %s", errdefs.ErrBusy, spec.GetUuid(), st, host))
	}
	return ev
}

// moveHalted moves a Halted VM's record from host to target: created there,
// then removed from host; if the removal fails, the copy is removed and the
// VM stays.
func (p *Pool) moveHalted(ctx context.Context, host, target string, spec *messages.VMSpec) error {
	call := func(h string, req *messages.Request) error {
		resp, err := p.Route(ctx, h, req)
		if err != nil {
			return err
		}
		return respError(resp)
	}
	if err := call(target, &messages.Request{Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{
		Spec: spec}}}); err != nil {
		return err
	}
	remove := &messages.Request{Op: &messages.Request_RemoveVm{RemoveVm: &messages.RemoveVMRequest{Uuid: spec.GetUuid()}}}
	if err := call(host, remove); err != nil {
		_ = call(target, remove)
		return err
	}
	return nil
}
