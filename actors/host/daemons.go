package host

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/events"
	"github.com/xenactor/xenactor/actors/vm"
)

// DaemonChanged reports the status of one of the host's daemons (an
// actors/daemons actor's Notify): the host keeps the latest of each and
// announces "daemon/<name>" on the update stream, so a client sees a daemon
// restarted or given up on. There is no reply.
type DaemonChanged struct{ Status daemons.Status }

// ListDaemons asks for the latest status of every daemon reported with
// DaemonChanged; the reply is a ListDaemonsReply, sorted by name.
type ListDaemons struct{}

// ListDaemonsReply answers ListDaemons.
type ListDaemonsReply struct{ Daemons []daemons.Status }

// DaemonObjectID is the id a daemon is announced under in the update
// stream.
func DaemonObjectID(name string) string { return "daemon/" + name }

func (h *hostActor) handleDaemonChanged(ctx actor.Context, msg *DaemonChanged) {
	if h.daemons == nil {
		h.daemons = make(map[string]daemons.Status)
	}
	st := msg.Status
	h.daemons[st.Name] = st
	ctx.Send(h.events, &events.Changed{ID: DaemonObjectID(st.Name)})
	if !h.faults.update(st) {
		return
	}
	// The VMs that depend on the daemon now show, or no longer show, the
	// fault in their status.
	for uuid, e := range h.vms {
		if h.faults.affects(st.Name, e.journal.Record().Spec) {
			ctx.Send(h.events, &events.Changed{ID: vm.ObjectID(uuid)})
		}
	}
}

// daemonFaults holds the daemons given up on, for the VM actors' statuses
// (vm.Config.DaemonFaults): the host writes it, the VM actors read it.
type daemonFaults struct {
	affectsFn func(daemon string, spec vm.Spec) bool
	mu        sync.Mutex
	failed    map[string]string // daemon -> its last failure
}

func newDaemonFaults(affects func(string, vm.Spec) bool) *daemonFaults {
	return &daemonFaults{affectsFn: affects, failed: make(map[string]string)}
}

// update records st and reports whether the daemon's fault began or
// ended: it begins when the daemon is given up on (StateFailed) and ends
// once it runs again.
func (f *daemonFaults) update(st daemons.Status) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, was := f.failed[st.Name]
	switch {
	case st.State == daemons.StateFailed:
		msg := "given up on"
		if st.LastErr != nil {
			msg = st.LastErr.Error()
		}
		f.failed[st.Name] = msg
		return !was
	case was && st.State == daemons.StateRunning:
		delete(f.failed, st.Name)
		return true
	}
	return false
}

func (f *daemonFaults) affects(daemon string, spec vm.Spec) bool {
	return f.affectsFn == nil || f.affectsFn(daemon, spec)
}

// of returns the faults of the daemons the VM of spec depends on.
func (f *daemonFaults) of(spec vm.Spec) []vm.DaemonFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failed) == 0 {
		return nil
	}
	var faults []vm.DaemonFault
	for _, name := range slices.Sorted(maps.Keys(f.failed)) {
		if f.affects(name, spec) {
			faults = append(faults, vm.DaemonFault{Name: name, Err: f.failed[name]})
		}
	}
	return faults
}

func (h *hostActor) handleListDaemons(ctx actor.Context) {
	list := slices.SortedFunc(maps.Values(h.daemons), func(a, b daemons.Status) int {
		return strings.Compare(a.Name, b.Name)
	})
	ctx.Respond(&ListDaemonsReply{Daemons: list})
}
