package rlimit_test

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/rlimit"
)

func TestRaiseNoFile(t *testing.T) {
	var l syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l))
	if l.Max > 64 {
		// Lower the soft limit, so that the test sees it raised; the test
		// process's limit is restored at the end.
		low := syscall.Rlimit{Cur: 64, Max: l.Max}
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
		t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l) })
	}
	n, err := rlimit.RaiseNoFile()
	require.NoError(t, err)
	require.Equal(t, l.Max, n.Hard)
	require.Equal(t, n.Hard, n.Soft)
	if l.Max > 64 {
		require.EqualValues(t, 64, n.Before)
	}
	var after syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after))
	require.Equal(t, l.Max, after.Cur, "the soft limit is the hard one")
}
