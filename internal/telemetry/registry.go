package telemetry

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace starts every metric name of the project.
const Namespace = "xenactor"

var (
	registry = newRegistry()
	perVM    atomic.Bool
)

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Registry returns the process-wide registry: the Go and process
// collectors, every package's metrics and, once MeterProvider was called,
// protoactor-go's.
func Registry() *prometheus.Registry { return registry }

// Handler returns the /metrics handler of the registry.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry,
		ErrorHandling: promhttp.ContinueOnError})
}

// SetPerVM turns the per-VM series on or off (off by default). Turning it
// off drops the per-VM series already kept.
func SetPerVM(on bool) {
	perVM.Store(on)
	if !on {
		perVMMu.Lock()
		for _, v := range perVMVecs {
			v.Reset()
		}
		perVMMu.Unlock()
	}
}

// PerVM reports whether per-VM series are kept.
func PerVM() bool { return perVM.Load() }

var (
	perVMMu   sync.Mutex
	perVMVecs []interface{ Reset() }
)
