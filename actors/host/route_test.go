package host

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/hostio/hypervisor"
)

// sendRecorder is the actor.Context of routeDomains: it records the VMs
// sent a CheckState; any other method panics.
type sendRecorder struct {
	actor.Context
	checked []string
}

func (s *sendRecorder) Send(pid *actor.PID, msg any) {
	if _, ok := msg.(*vm.CheckState); ok {
		s.checked = append(s.checked, pid.Id)
	}
}

func TestRouteDomains(t *testing.T) {
	h := &hostActor{vms: make(map[string]*entry), byDom: make(map[uint32]string),
		seen: make(map[hypervisor.DomID]domState), spare: make(map[hypervisor.DomID]domState),
		unseen: make(map[hypervisor.DomID]string)}
	for _, uuid := range []string{"a", "b", "c", "d"} {
		h.vms[uuid] = &entry{pid: actor.NewPID("test", uuid)}
	}
	h.byDom[1], h.byDom[2] = "a", "b"
	dom := func(id hypervisor.DomID, uuid string, mod func(*hypervisor.DomainInfo)) hypervisor.DomainInfo {
		d := hypervisor.DomainInfo{ID: id, UUID: uuid, Running: true}
		if mod != nil {
			mod(&d)
		}
		return d
	}
	paused := func(d *hypervisor.DomainInfo) { d.Running, d.Paused = false, true }
	crashed := func(d *hypervisor.DomainInfo) {
		d.Running, d.Shutdown, d.ShutdownReason = false, true, hypervisor.ShutdownCrash
	}
	dom0 := hypervisor.DomainInfo{ID: 0, UUID: "00000000-0000-0000-0000-000000000000", Running: true}
	for _, step := range []struct {
		name    string
		learn   map[uint32]string // domains the host learns of before the listing
		listing []hypervisor.DomainInfo
		checked []string
	}{
		{name: "first listing: every VM's domain compares from unknown",
			listing: []hypervisor.DomainInfo{dom0, dom(1, "a", nil), dom(2, "b", nil), dom(7, "stranger", nil)},
			checked: []string{"a", "b"}},
		{name: "nothing changed",
			listing: []hypervisor.DomainInfo{dom0, dom(1, "a", nil), dom(2, "b", nil), dom(7, "stranger", nil)}},
		{name: "only CPU state changed",
			listing: []hypervisor.DomainInfo{dom0, dom(1, "a", func(d *hypervisor.DomainInfo) {
				d.Running, d.Blocked = false, true
			}), dom(2, "b", nil), dom(7, "stranger", nil)}},
		{name: "one paused",
			listing: []hypervisor.DomainInfo{dom0, dom(1, "a", paused), dom(2, "b", nil), dom(7, "stranger", nil)},
			checked: []string{"a"}},
		{name: "one crashed, a stranger vanished",
			listing: []hypervisor.DomainInfo{dom0, dom(1, "a", paused), dom(2, "b", crashed)},
			checked: []string{"b"}},
		{name: "one vanished",
			listing: []hypervisor.DomainInfo{dom0, dom(2, "b", crashed)},
			checked: []string{"a"}},
		{name: "a domain the host does not know yet is routed by its uuid",
			listing: []hypervisor.DomainInfo{dom0, dom(2, "b", crashed), dom(3, "d", nil)},
			checked: []string{"d"}},
		{name: "a domain learned of but in no listing: it came and went in between",
			learn:   map[uint32]string{4: "c"},
			listing: []hypervisor.DomainInfo{dom0, dom(2, "b", crashed), dom(3, "d", nil)},
			checked: []string{"c"}},
		{name: "and only once",
			listing: []hypervisor.DomainInfo{dom0, dom(2, "b", crashed), dom(3, "d", nil)}},
		{name: "a domain learned of and listed compares from unknown",
			learn:   map[uint32]string{5: "c"},
			listing: []hypervisor.DomainInfo{dom0, dom(2, "b", crashed), dom(3, "d", nil), dom(5, "c", nil)},
			checked: []string{"c"}},
	} {
		for id, uuid := range step.learn {
			h.byDom[id] = uuid
			h.domainLearned(id, uuid)
		}
		ctx := &sendRecorder{}
		h.routeDomains(ctx, step.listing)
		require.ElementsMatch(t, step.checked, ctx.checked, step.name)
	}
}
