package main_test

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var metricsLog = regexp.MustCompile(`metrics=(127\.0\.0\.1:[0-9]+)`)

func TestXenactord_MetricsAddr(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	d := startProc(t, bin, "-metrics-addr", "127.0.0.1:0", "-migrate-addr", "", "-api-addr", "", "-run-dir", runDir, "-state-dir",
		filepath.Join(runDir, "state"), "-host-memory", "1024")
	d.waitLog(t, "xenactord ready")
	m := metricsLog.FindStringSubmatch(d.stderr.String())
	require.NotNil(t, m, "the ready line names the metrics address: %s", d.stderr)

	resp, err := http.Get("http://" + m[1] + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{"process_resident_memory_bytes ", "xenactor_xenstored_connections_conns ",
		`xenactor_actor_mailbox_backlog_messages{family="host"} `, "protoactor_actor_message_receive_duration_seconds"} {
		require.True(t, strings.Contains(string(body), want), "/metrics has no %q", want)
	}
	d.terminate(t)
}
