package demu

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFramebufferBytes(t *testing.T) {
	for typ, want := range map[string]uint64{
		"GRID T4-2Q": 2 << 30, "GRID M60-8A": 8 << 30, "GRID T4-16Q": 16 << 30,
		"passthrough": defaultFramebufferBytes, "GRID T4-Q": defaultFramebufferBytes,
	} {
		require.Equal(t, want, framebufferBytes(typ), typ)
	}
}

func TestMain_BadArguments(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	require.NoError(t, os.WriteFile(conf, []byte("uuid=x\n"), 0o600))
	common := []string{"--gpu=0000:03:00.0", "--config=" + conf, "--suspend=" + filepath.Join(dir, "state"),
		"--control=" + filepath.Join(dir, "sock")}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{common, 2, "--domain"},
		{append([]string{"--domain=3", "--vcpus=0"}, common...), 2, "--vcpus"},
		{[]string{"--domain=3"}, 2, "required"},
		{append([]string{"--domain=3"}, common...), 1, "no type"},
		{append([]string{"--domain=3", "--resume"}, common...), 1, "no type"},
	} {
		var stderr bytes.Buffer
		require.Equal(t, c.code, Main(c.args, &stderr), "%v", c.args)
		require.Contains(t, stderr.String(), c.msg)
	}
	require.NoError(t, os.WriteFile(conf, []byte("type=GRID T4-2Q\n"), 0o600))
	var stderr bytes.Buffer
	require.Equal(t, 1, Main(append([]string{"--domain=3", "--resume"}, common...), &stderr))
	require.Contains(t, stderr.String(), "resume", "no state file to resume from")
}
