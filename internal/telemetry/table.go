package telemetry

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Desc is one row of a package's metrics table: the metric is named
// xenactor_<Subsystem>_<Name>_<Unit> ("total" for counters, "seconds",
// "vms", ...).
type Desc struct {
	Subsystem string
	Name      string
	Unit      string
	Help      string
	Labels    []string
	// Buckets are a histogram's; nil means LatencyBuckets.
	Buckets []float64
}

// FullName returns xenactor_<subsystem>_<name>_<unit>.
func (d Desc) FullName() string {
	return prometheus.BuildFQName(Namespace, d.Subsystem, d.Name+"_"+d.Unit)
}

// LatencyBuckets are the default histogram buckets, in seconds: 1 ms to
// about 2 minutes.
var LatencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 18)

var (
	namesMu sync.Mutex
	names   []string
)

// register registers c, named name, on the registry.
func register(name string, c prometheus.Collector) {
	registry.MustRegister(c)
	namesMu.Lock()
	names = append(names, name)
	namesMu.Unlock()
}

// Names returns the names of the metrics registered from the tables (New*),
// sorted: series of a vector appear only once they have a value, the names
// are there from the start.
func Names() []string {
	namesMu.Lock()
	defer namesMu.Unlock()
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}

// NewCounter registers a counter vector of d on the registry.
func NewCounter(d Desc) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.FullName(), Help: d.Help}, d.Labels)
	register(d.FullName(), v)
	return v
}

// NewGauge registers a gauge vector of d on the registry.
func NewGauge(d Desc) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: d.FullName(), Help: d.Help}, d.Labels)
	register(d.FullName(), v)
	return v
}

// NewHistogram registers a histogram vector of d on the registry.
func NewHistogram(d Desc) *prometheus.HistogramVec {
	b := d.Buckets
	if b == nil {
		b = LatencyBuckets
	}
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: d.FullName(), Help: d.Help, Buckets: b},
		d.Labels)
	register(d.FullName(), v)
	return v
}

// NewPerVMCounter registers a counter vector of d whose series are per VM
// (its first label should be "vm"): its series are dropped when
// SetPerVM(false) is called, and callers add to it only while PerVM reports
// true.
func NewPerVMCounter(d Desc) *prometheus.CounterVec {
	v := NewCounter(d)
	perVMMu.Lock()
	perVMVecs = append(perVMVecs, v)
	perVMMu.Unlock()
	return v
}

// Result is the result label of an operation: "ok", or the errdefs kind
// its error wraps ("canceled", "timeout", ...; "unknown" for none).
func Result(err error) string {
	if err == nil {
		return "ok"
	}
	if k := errdefs.Kind(err); k != "" {
		return k
	}
	return "unknown"
}
