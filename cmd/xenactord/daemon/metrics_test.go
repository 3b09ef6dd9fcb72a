package daemon_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/telemetry"
)

// scrape reads the daemon's /metrics as Prometheus would.
func scrape(t *testing.T, d *daemon.Daemon) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + d.MetricsAddr() + telemetry.MetricsPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err)
	return fams
}

// value returns the value of the series of family name with the labels
// given (name, value pairs), 0 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func metricsDaemon(t *testing.T, perVM bool) *daemon.Daemon {
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
		MetricsAddr: "127.0.0.1:0", MetricsPerVM: perVM})
	t.Cleanup(func() { telemetry.SetPerVM(false) })
	require.True(t, strings.HasPrefix(d.MetricsAddr(), "127.0.0.1:"), d.MetricsAddr())
	return d
}

func TestDaemon_Metrics_AVMStartShows(t *testing.T) {
	d := metricsDaemon(t, false)
	before := scrape(t, d)
	spec := newSpec(0)
	startVM(t, d, spec)
	requireDevicesConnected(t, d, spec.UUID, 2)

	var after map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		after = scrape(t, d)
		return value(after, "xenactor_vm_power_state_vms", "state", "Running") ==
			value(before, "xenactor_vm_power_state_vms", "state", "Running")+1
	}, waitFor, tick, "the host counts the VM as Running")
	delta := func(name string, labels ...string) float64 {
		return value(after, name, labels...) - value(before, name, labels...)
	}
	require.Equal(t, 1.0, delta("xenactor_vm_operations_total", "kind", "VM.start", "result", "ok"))
	require.Equal(t, 1.0, delta("xenactor_vm_operation_duration_seconds", "kind", "VM.start"))
	for _, atom := range []string{"create", "build", "plug_devices"} {
		require.Equal(t, 1.0, delta("xenactor_vm_atom_duration_seconds", "atom", atom), atom)
	}
	require.Equal(t, 1.0, delta("xenactor_vm_device_plug_duration_seconds", "class", "vbd"))
	require.Equal(t, 1.0, delta("xenactor_vm_device_operations_total", "class", "vif", "op", "plug", "result", "ok"))
	require.Equal(t, 1.0, delta("xenactor_tasks_created_total", "kind", "VM.start"))
	require.Equal(t, 1.0, delta("xenactor_tasks_finished_total", "kind", "VM.start", "result", "ok"))
	require.Positive(t, delta("xenactor_xenstore_client_operations_total", "op", "write", "result", "ok"))
	require.Positive(t, delta("xenactor_xenstored_operations_total", "op", "write"))
	require.Positive(t, delta("xenactor_xenstored_watch_events_total"))
	require.Positive(t, delta("xenactor_xenstore_client_watch_events_total"))
	require.Positive(t, value(after, "xenactor_xenstored_connections_conns"))
	require.Positive(t, value(after, "process_resident_memory_bytes"))

	// protoactor-go's own metrics, through the OpenTelemetry exporter.
	var proto []string
	for name := range after {
		if strings.HasPrefix(name, "protoactor_") {
			proto = append(proto, name)
		}
	}
	require.Contains(t, proto, "protoactor_actor_spawn_count_total", "%v", proto)
	require.Contains(t, proto, "protoactor_actor_message_receive_duration_seconds", "%v", proto)
	_, ok := after["xenactor_actor_mailbox_backlog_messages"]
	require.True(t, ok, "the host's and VMs' mailbox backlog")
	require.Equal(t, 1.0, delta("xenactor_vm_device_operations_total", "class", "vbd", "op", "plug", "result",
		"ok"))

	// No per-VM series while per-VM metrics are off.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				require.NotEqual(t, "vm", l.GetName(), "%s has a vm label", name)
			}
		}
	}
}

func TestDaemon_Metrics_PerVM(t *testing.T) {
	d := metricsDaemon(t, true)
	spec := newSpec(0)
	startVM(t, d, spec)
	fams := scrape(t, d)
	require.Equal(t, 1.0, value(fams, "xenactor_vm_vm_operations_total", "vm", spec.UUID, "kind", "VM.start",
		"result", "ok"))
}

func TestMetrics_LintClean(t *testing.T) {
	d := metricsDaemon(t, false)
	startVM(t, d, newSpec(0))
	problems, err := testutil.GatherAndLint(telemetry.Registry())
	require.NoError(t, err)
	require.Empty(t, problems)
}

// dashboardExprs returns the PromQL of every target of the dashboard's
// panels, by panel title, and the titles of its rows.
func dashboardExprs(t *testing.T) (map[string][]string, []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "grafana-dashboard.json"))
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Title)
	require.NotEmpty(t, dash.UID)
	exprs := map[string][]string{}
	var rows []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q", p.Title)
			exprs[p.Title] = append(exprs[p.Title], tg.Expr)
		}
	}
	return exprs, rows
}

var metricName = regexp.MustCompile(`\b(?:xenactor|protoactor|process|go)_[a-zA-Z0-9_]+`)

func TestGrafanaDashboard_NamesExistingMetrics(t *testing.T) {
	d := metricsDaemon(t, false)
	startVM(t, d, newSpec(0))
	fams, err := telemetry.Registry().Gather()
	require.NoError(t, err)
	known := map[string]bool{}
	for _, n := range telemetry.Names() {
		known[n] = true
	}
	for _, f := range fams {
		known[f.GetName()] = true
	}

	exprs, rows := dashboardExprs(t)
	require.Subset(t, rows, []string{"Operations", "Latencies", "VMs", "Devices", "Guest reports", "Xenstore",
		"Restarts", "Daemons", "Tasks", "Process"})
	seen := 0
	for title, list := range exprs {
		for _, expr := range list {
			names := metricName.FindAllString(expr, -1)
			require.NotEmpty(t, names, "panel %q: %s names no metric", title, expr)
			for _, n := range names {
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && known[b] {
						base = b
					}
				}
				require.True(t, known[base], "panel %q: %s is not a metric of the registry", title, n)
				seen++
			}
		}
	}
	require.Greater(t, seen, 20)
}

func TestMetricsDoc_ListsEveryMetric(t *testing.T) {
	d := metricsDaemon(t, false)
	startVM(t, d, newSpec(0))
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "metrics.md"))
	require.NoError(t, err)
	for _, n := range telemetry.Names() {
		require.Contains(t, string(raw), "`"+n+"`", "docs/metrics.md")
	}
}
