package procstat_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/internal/procstat"
)

func TestOwnProcess(t *testing.T) {
	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for i := 0; i < 3e7; i++ { // some CPU time
		buf[i%len(buf)]++
	}
	cpu, err := procstat.CPUSeconds(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, cpu)
	rss, hwm, err := procstat.Memory(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, rss, uint64(32<<10), "the 32 MiB touched are resident")
	require.GreaterOrEqual(t, hwm, rss)
	_, err = procstat.CPUSeconds(-1)
	require.Error(t, err)
}
