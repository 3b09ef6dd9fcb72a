package host

import (
	"maps"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/actors/daemons"
	"github.com/xenactor/xenactor/actors/events"
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
	h.daemons[msg.Status.Name] = msg.Status
	ctx.Send(h.events, &events.Changed{ID: DaemonObjectID(msg.Status.Name)})
}

func (h *hostActor) handleListDaemons(ctx actor.Context) {
	list := slices.SortedFunc(maps.Values(h.daemons), func(a, b daemons.Status) int {
		return strings.Compare(a.Name, b.Name)
	})
	ctx.Respond(&ListDaemonsReply{Daemons: list})
}
