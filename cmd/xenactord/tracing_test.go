package main_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestXenactord_TraceFlagsUsageErrors(t *testing.T) {
	bin := build(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-trace-agent", "127.0.0.1:6831", "-trace-collector", "http://127.0.0.1:14268/api/traces"},
			"mutually exclusive"},
		{[]string{"-trace-agent", "127.0.0.1:6831", "-trace-sample", "2"}, "sample rate"},
		{[]string{"-trace-collector", "127.0.0.1:14268"}, "not an http(s) URL"},
	} {
		runDir := shortDir(t)
		args := append([]string{"-run-dir", runDir, "-state-dir", filepath.Join(runDir, "state"), "-metrics-addr", "", "-migrate-addr", "",
			"-api-addr", ""}, tc.args...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", tc.args, out)
		require.Equal(t, 2, ee.ExitCode(), "%v: %s", tc.args, out)
		require.Contains(t, string(out), tc.msg)
	}
}
