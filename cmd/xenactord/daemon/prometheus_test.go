package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/testenv"
)

// freeAddr returns a 127.0.0.1 address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startPrometheus runs Debian's prometheus scraping target every second,
// its storage in a temporary directory, and returns its web address. It is
// stopped when the test ends.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: xenactord
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(config), 0o600))
	web := freeAddr(t)
	out := &testenv.Buffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--web.listen-address="+web,
		"--storage.tsdb.path="+filepath.Join(dir, "data"))
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus:\n%s", out.String())
		}
	})
	return web
}

// promQuery is the part of Prometheus's /api/v1/query answer the test
// reads.
type promQuery struct {
	Status string `json:"status"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// query asks prometheus at web for the instant value of expr; ok is false
// when it has no sample yet.
func query(ctx context.Context, web, expr string) (float64, bool, error) {
	u := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(expr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var q promQuery
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		return 0, false, err
	}
	if q.Status != "success" || len(q.Data.Result) == 0 {
		return 0, false, nil
	}
	s, _ := q.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

func TestDaemon_Metrics_ScrapedByPrometheus(t *testing.T) {
	bin := testenv.RequireExternal(t, "prometheus")["prometheus"]
	runDir := shortDir(t)
	d := start(t, daemon.Config{StateDir: filepath.Join(runDir, "state"), RunDir: runDir, HostMemoryMiB: 1024,
		MetricsAddr: "127.0.0.1:0"})
	web := startPrometheus(t, bin, d.MetricsAddr())

	spec := newSpec(0)
	startVM(t, d, spec)

	ctx := ctxFor(t)
	var last string
	for _, expr := range []string{
		`xenactor_vm_power_state_vms{job="xenactord",state="Running"}`,
		`xenactor_vm_operations_total{job="xenactord",kind="VM.start",result="ok"}`,
	} {
		require.Eventually(t, func() bool {
			v, ok, err := query(ctx, web, expr)
			last = fmt.Sprintf("%v %v %v", v, ok, err)
			return ok && v >= 1
		}, 45*time.Second, 200*time.Millisecond, "prometheus never saw %s: %s", expr, last)
	}
}
