package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogFile_RotatesAtItsCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), LogName(7))
	require.True(t, strings.HasSuffix(path, "guest-7.log"))
	l, err := openLog(path, 100)
	require.NoError(t, err)
	for i := range 10 {
		_, err := l.Write([]byte(strings.Repeat(string(rune('a'+i)), 30)))
		require.NoError(t, err)
	}
	_, err = l.Write([]byte(strings.Repeat("z", 500)))
	require.NoError(t, err)
	require.NoError(t, l.Close())

	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("z", 100), string(cur), "a write over the cap keeps its tail")
	prev, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("j", 30), string(prev))

	// Reopened, the log appends and counts what is there.
	l, err = openLog(path, 150)
	require.NoError(t, err)
	_, err = l.Write([]byte("0123456789"))
	require.NoError(t, err)
	_, err = l.Write([]byte(strings.Repeat("y", 45)))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	cur, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("y", 45), string(cur))
}
