package sim

import (
	"sync/atomic"
	"time"
)

// Faults are the simulated host's knobs for latency and failures. They may
// be changed while the host runs.
type Faults struct {
	delayNs      atomic.Int64 // backend delay, nanoseconds
	hotplugError atomic.Pointer[string]
	frontendHang atomic.Bool
}

// SetBackendDelay makes every backend state transition wait d.
func (f *Faults) SetBackendDelay(d time.Duration) { f.delayNs.Store(int64(d)) }

func (f *Faults) backendDelay() time.Duration { return time.Duration(f.delayNs.Load()) }

// SetHotplugError makes hotplug fail, writing msg to hotplug-error; ""
// makes it succeed again.
func (f *Faults) SetHotplugError(msg string) {
	if msg == "" {
		f.hotplugError.Store(nil)
		return
	}
	f.hotplugError.Store(&msg)
}

func (f *Faults) hotplugFailure() (string, bool) {
	if p := f.hotplugError.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// SetFrontendHang makes every guest's frontends stop before publishing their
// rings, as a guest whose drivers hang does.
func (f *Faults) SetFrontendHang(hang bool) { f.frontendHang.Store(hang) }

func (f *Faults) frontendHangs() bool { return f.frontendHang.Load() }
