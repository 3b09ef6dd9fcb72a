package fileplugin_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/hostio/storage/fileplugin"
)

// run runs the plugin in process as the function fn with args.
func run(t *testing.T, fn string, args storage.Args) (int, []byte) {
	t.Helper()
	in, err := json.Marshal(args)
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	code := fileplugin.Main([]string{"/plugins/file/" + fn}, bytes.NewReader(in), &out, &errOut)
	return code, out.Bytes()
}

func TestMain_CallsAndErrors(t *testing.T) {
	sr := "file://" + t.TempDir()
	code, out := run(t, storage.VolumeCreate, storage.Args{SR: sr, Name: "d", Size: 4096})
	require.Equal(t, 0, code, "%s", out)
	var v storage.Volume
	require.NoError(t, json.Unmarshal(out, &v))
	require.EqualValues(t, 4096, v.VirtualSize)

	for _, c := range []struct {
		fn   string
		args storage.Args
		code string
		msg  string
	}{
		{storage.VolumeStat, storage.Args{SR: sr, Key: "00000000-0000-4000-8000-000000000000"}, "not_found", "volume"},
		{storage.VolumeStat, storage.Args{SR: "relative/dir"}, "invalid", "file:///<absolute path>"},
		{storage.VolumeStat, storage.Args{SR: sr + "/missing"}, "not_found", "missing"},
		{storage.DatapathAttach, storage.Args{SR: sr, Key: v.Key}, "invalid", "no domain"},
	} {
		code, out := run(t, c.fn, c.args)
		require.Equal(t, 1, code)
		var pe storage.PluginError
		require.NoError(t, json.Unmarshal(out, &pe), "%s", out)
		require.Equal(t, c.code, pe.Code, pe.Message)
		require.Contains(t, pe.Message, c.msg)
	}

	var out2, errOut bytes.Buffer
	require.Equal(t, 1, fileplugin.Main([]string{"Volume.ls"}, strings.NewReader("{not json"), &out2, &errOut))
	require.Contains(t, out2.String(), `"code":"invalid"`)
}

func TestMain_UsageAndInstall(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 2, fileplugin.Main([]string{"xenactor-sm-file", "frobnicate"}, nil, &out, &errOut))
	require.Contains(t, errOut.String(), "usage")

	dir := filepath.Join(t.TempDir(), "plugin")
	require.Equal(t, 0, fileplugin.Main([]string{"xenactor-sm-file", "install", dir}, nil, &out, &errOut),
		errOut.String())
	self, err := os.Executable()
	require.NoError(t, err)
	target, err := os.Readlink(filepath.Join(dir, storage.DatapathAttach))
	require.NoError(t, err)
	require.Equal(t, self, target)

	// Named by its second argument.
	sr := "file://" + t.TempDir()
	out.Reset()
	require.Equal(t, 0, fileplugin.Main([]string{"xenactor-sm-file", storage.VolumeLs},
		strings.NewReader(`{"sr":"`+sr+`"}`), &out, &errOut), out.String())
	require.JSONEq(t, "[]", out.String())
}
