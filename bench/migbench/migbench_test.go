package migbench_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/bench/migbench"
)

func TestRun_MeasuresARow(t *testing.T) {
	rows, err := migbench.Run(context.Background(), migbench.Options{SizesMiB: []int{16}, Rates: []int{0, 20000},
		WorkingSetPages: 1024})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for _, r := range rows {
		require.GreaterOrEqual(t, r.BytesSent, int64(16<<20), "every page holds data")
		require.Positive(t, r.MigrationMS)
		require.Positive(t, r.DowntimeMS)
		require.Positive(t, r.FractionOfRaw)
	}
	require.Zero(t, rows[0].Iterations, "an idle guest dirties nothing: no round after the full copy")
	var out bytes.Buffer
	migbench.WriteTable(&out, rows)
	require.Contains(t, out.String(), "raw TCP MiB/s")
}
