package host

import (
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/telemetry"
)

// The host actor's metrics (docs/metrics.md).
var (
	vmsByPower = telemetry.NewGauge(telemetry.Desc{Subsystem: "vm", Name: "power_state", Unit: "vms",
		Help: "VMs registered with the host, by power state (Halted, Paused, Running, Shutdown, " +
			"Suspended), as the host last saw them.",
		Labels: []string{"state"}})
	mailboxBacklog = telemetry.NewMailboxBacklog("host")
)

// notePower moves e's VM to power state p in vmsByPower.
func notePower(e *entry, p vm.PowerState) {
	if e.counted && e.power == p {
		return
	}
	forgetPower(e)
	e.power, e.counted = p, true
	vmsByPower.WithLabelValues(p.String()).Inc()
}

// forgetPower takes e's VM out of vmsByPower.
func forgetPower(e *entry) {
	if e.counted {
		vmsByPower.WithLabelValues(e.power.String()).Dec()
		e.counted = false
	}
}

// forgetPowers takes every VM of the host out of vmsByPower, when it stops
// or restarts.
func (h *hostActor) forgetPowers() {
	for _, e := range h.vms {
		forgetPower(e)
	}
}
