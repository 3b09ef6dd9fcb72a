package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// View is the daemon's view of its VMs and tasks, through its API.
type View struct {
	VMs []VMView
	// Pending are the tasks not finished: "<kind> of <subject> (<id>)".
	Pending []string `json:",omitempty"`
	// Daemons are the host daemons that are not running: "<name>:
	// <state> (<last error>)".
	Daemons []string `json:",omitempty"`
}

// VMView is one VM as the daemon lists it.
type VMView struct {
	UUID string
	// Power is the power state's name without its prefix ("RUNNING").
	Power string
	DomID uint32
	// VBDs and VIFs are the devids of its spec's devices.
	VBDs, VIFs []int32
	// Err is set when its actor did not answer (Power is then HALTED).
	Err string `json:",omitempty"`
	// Failed are its last failed tasks, "<kind>: <error>", newest last.
	Failed []string `json:",omitempty"`
}

// maxFailed caps VMView.Failed.
const maxFailed = 4

// HasDomain tells whether the power state is one with a domain.
func (v VMView) HasDomain() bool { return v.Power != "HALTED" && v.Power != "SUSPENDED" }

// settle waits until no task is pending (for at most timeout), then returns
// the daemon's view; the error says what kept it from settling.
func settle(ctx context.Context, c *client.Client, timeout time.Duration) (*View, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := view(ctx, c)
		if err == nil && len(v.Pending) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil && len(v.Pending) > 0 {
				err = fmt.Errorf("chaos: %d tasks still pending after %s: %w", len(v.Pending), timeout,
					errdefs.ErrTimeout)
			}
			return v, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// view reads the daemon's view.
func view(ctx context.Context, c *client.Client) (*View, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	vms, err := c.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	tasks, err := c.Tasks(ctx, "")
	if err != nil {
		return nil, err
	}
	failed := make(map[string][]string)
	for _, t := range tasks {
		if t.GetState() == messages.TaskState_TASK_STATE_FAILED {
			f := append(failed[t.GetSubject()], t.GetKind()+": "+t.GetError().GetMessage())
			failed[t.GetSubject()] = f[max(0, len(f)-maxFailed):]
		}
	}
	v := &View{}
	for _, s := range vms {
		vv := VMView{UUID: s.GetSpec().GetUuid(), DomID: s.GetDomid(),
			Power: strings.TrimPrefix(s.GetPowerState().String(), "POWER_STATE_"), Failed: failed[s.GetSpec().GetUuid()]}
		if e := s.GetError(); e != nil {
			vv.Err = e.GetKind() + ": " + e.GetMessage()
		}
		for _, d := range s.GetSpec().GetVbds() {
			vv.VBDs = append(vv.VBDs, d.GetDevid())
		}
		for _, d := range s.GetSpec().GetVifs() {
			vv.VIFs = append(vv.VIFs, d.GetDevid())
		}
		v.VMs = append(v.VMs, vv)
	}
	ds, err := c.Daemons(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.GetState() != "running" {
			v.Daemons = append(v.Daemons, fmt.Sprintf("%s: %s (%s)", d.GetName(), d.GetState(), d.GetLastError()))
		}
	}
	for _, t := range tasks {
		if t.GetState() == messages.TaskState_TASK_STATE_PENDING {
			v.Pending = append(v.Pending, fmt.Sprintf("%s of %s (%s)", t.GetKind(), t.GetSubject(), t.GetId()))
		}
	}
	return v, nil
}

// CleanResult is what removing every VM after a run did.
type CleanResult struct {
	Removed int
	// Errors are the failures, "<op> <uuid>: <error>".
	Errors []string `json:",omitempty"`
}

// removeVM removes VM uuid, again while it is busy: a Halted VM is busy
// while an operation still runs (one of an actor incarnation that a fault
// ended, which the new one waits for, or its reconciliation).
func removeVM(ctx context.Context, c *client.Client, uuid string) error {
	for {
		err := c.RemoveVM(ctx, uuid)
		if !errdefs.IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clean destroys and removes every VM of the daemon, and forgets the
// finished tasks.
func clean(ctx context.Context, c *client.Client, timeout time.Duration) CleanResult {
	var res CleanResult
	fail := func(op, uuid string, err error) { res.Errors = append(res.Errors, op+" "+uuid+": "+err.Error()) }
	ctx, cancel := context.WithTimeout(ctx, 2*timeout+30*time.Second)
	defer cancel()
	vms, err := c.ListVMs(ctx)
	if err != nil {
		fail("list", "", err)
		return res
	}
	for _, s := range vms {
		uuid := s.GetSpec().GetUuid()
		if s.GetPowerState() != messages.PowerState_POWER_STATE_HALTED {
			t, err := c.DestroyVM(ctx, uuid)
			if err == nil {
				_, err = t.Wait(ctx, nil)
			}
			if err != nil && errdefs.IsInvalid(err) {
				// It halted by itself meanwhile (its guest shut down).
				if st, serr := c.StatVM(ctx, uuid); serr == nil &&
					st.GetPowerState() == messages.PowerState_POWER_STATE_HALTED {
					err = nil
				}
			}
			if err != nil {
				fail("destroy", uuid, err)
				continue
			}
		}
		if err := removeVM(ctx, c, uuid); err != nil {
			fail("remove", uuid, err)
			continue
		}
		res.Removed++
	}
	if tasks, err := c.Tasks(ctx, ""); err == nil {
		for _, t := range tasks {
			if t.GetState() != messages.TaskState_TASK_STATE_PENDING {
				_ = c.DestroyTask(ctx, t.GetId())
			}
		}
	}
	return res
}
