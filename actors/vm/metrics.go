package vm

import (
	"time"

	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/telemetry"
)

// The VM actors' metrics (docs/metrics.md).
var (
	opsTotal = telemetry.NewCounter(telemetry.Desc{Subsystem: "vm", Name: "operations", Unit: "total",
		Help:   "VM operations finished, by kind (VM.start, ...) and result (ok or the error kind).",
		Labels: []string{"kind", "result"}})
	opsPerVM = telemetry.NewPerVMCounter(telemetry.Desc{Subsystem: "vm", Name: "vm_operations", Unit: "total",
		Help:   "VM operations finished, by VM, kind and result; kept only with per-VM metrics on.",
		Labels: []string{"vm", "kind", "result"}})
	opSeconds = telemetry.NewHistogram(telemetry.Desc{Subsystem: "vm", Name: "operation_duration", Unit: "seconds",
		Help: "Time a VM operation ran, from its launch to its end, by kind.", Labels: []string{"kind"}})
	atomSeconds = telemetry.NewHistogram(telemetry.Desc{Subsystem: "vm", Name: "atom_duration", Unit: "seconds",
		Help: "Time an atom of a VM operation took, by atom.", Labels: []string{"atom"}})
	plugSeconds = telemetry.NewHistogram(telemetry.Desc{Subsystem: "vm", Name: "device_plug_duration",
		Unit: "seconds", Help: "Time a device plug took (handshake and hotplug), by class (vbd, vif).",
		Labels: []string{"class"}})
	mailboxBacklog = telemetry.NewMailboxBacklog("vm")
	deviceOps      = telemetry.NewCounter(telemetry.Desc{Subsystem: "vm", Name: "device_operations", Unit: "total",
		Help:   "Device plugs and unplugs finished, by class, op (plug, unplug) and result.",
		Labels: []string{"class", "op", "result"}})
	migrations = telemetry.NewCounter(telemetry.Desc{Subsystem: "vm", Name: "migrations", Unit: "total",
		Help: "Outgoing migrations finished, by result (ok or the error kind).", Labels: []string{"result"}})
	migrationSeconds = telemetry.NewHistogram(telemetry.Desc{Subsystem: "vm", Name: "migration_duration",
		Unit: "seconds", Help: "Time an outgoing migration took, from the dial to the destination's acknowledgement."})
	migrationDowntime = telemetry.NewHistogram(telemetry.Desc{Subsystem: "vm", Name: "migration_downtime",
		Unit: "seconds", Help: "Time a migrated guest was stopped: from its pause here to its unpause there."})
	migrationBytes = telemetry.NewCounter(telemetry.Desc{Subsystem: "vm", Name: "migration_sent_bytes", Unit: "total",
		Help: "Bytes outgoing migrations wrote to their connections."})
)

// observeMigration records an outgoing migration that ended with err.
func observeMigration(res migrate.Result, err error) {
	migrations.WithLabelValues(telemetry.Result(err)).Inc()
	migrationBytes.WithLabelValues().Add(float64(res.BytesSent))
	if err == nil {
		migrationSeconds.WithLabelValues().Observe(res.Duration.Seconds())
		migrationDowntime.WithLabelValues().Observe(res.Downtime.Seconds())
	}
}

// The atoms timed in atomSeconds.
const (
	atomCreate      = "create"
	atomBuild       = "build"
	atomPlugDevices = "plug_devices"
	atomDeviceModel = "device_model"
	atomTeardown    = "teardown"
)

// observeOperation counts op's end with err; its latency when it ran.
func observeOperation(uuid string, op *operation, err error) {
	res := telemetry.Result(err)
	opsTotal.WithLabelValues(op.kind, res).Inc()
	if telemetry.PerVM() {
		opsPerVM.WithLabelValues(uuid, op.kind, res).Inc()
	}
	if !op.began.IsZero() {
		opSeconds.WithLabelValues(op.kind).Observe(time.Since(op.began).Seconds())
	}
}

// observeAtom records the latency of atom, begun at began:
// defer observeAtom(atomCreate, time.Now()).
func observeAtom(atom string, began time.Time) {
	atomSeconds.WithLabelValues(atom).Observe(time.Since(began).Seconds())
}

// observeDevice records a plug's or unplug's result, and a plug's latency.
func observeDevice(class string, plug bool, began time.Time, err *error) {
	op := "unplug"
	if plug {
		op = "plug"
		if *err == nil {
			plugSeconds.WithLabelValues(class).Observe(time.Since(began).Seconds())
		}
	}
	deviceOps.WithLabelValues(class, op, telemetry.Result(*err)).Inc()
}
