package emuproc_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/internal/emuproc"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestPidFile_NamesOneProcessAcrossPidReuse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	pid := os.Getpid()
	require.NoError(t, emuproc.WritePidFile(path, pid))
	got, start, err := emuproc.ReadPidFile(path)
	require.NoError(t, err)
	require.Equal(t, pid, got)
	require.NotZero(t, start)

	self, err := os.Executable()
	require.NoError(t, err)
	arg := []byte("-test.")
	require.NoError(t, emuproc.CheckProcess(pid, start, self, arg, "this test"))
	// The same pid, started at another time: another process.
	err = emuproc.CheckProcess(pid, start+1, self, arg, "this test")
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	require.ErrorContains(t, err, "another process")
	// Another program, or another command line, is not adopted either.
	require.ErrorIs(t, emuproc.CheckProcess(pid, start, "/bin/sleep", arg, "sleep"), errdefs.ErrNotFound)
	require.ErrorIs(t, emuproc.CheckProcess(pid, start, self, []byte("-no-such-argument"), "x"), errdefs.ErrNotFound)

	// A pid file of a pid alone (no start time) still reads.
	require.NoError(t, os.WriteFile(path, []byte("42\n"), 0o600))
	got, start, err = emuproc.ReadPidFile(path)
	require.NoError(t, err)
	require.Equal(t, 42, got)
	require.Zero(t, start)
	for _, bad := range []string{"", "x", "1 2 3", "-4", "5 y"} {
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
		_, _, err := emuproc.ReadPidFile(path)
		require.ErrorIs(t, err, errdefs.ErrInvalid, "%q", bad)
	}
}
