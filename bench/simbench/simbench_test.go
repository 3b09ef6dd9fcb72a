package simbench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun_Small(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := Run(ctx, Options{Guests: 20, Concurrency: 5, IdleWindow: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 20, r.Boot.Guests)
	assert.Positive(t, r.Boot.PerSecond)
	assert.Positive(t, r.BytesPerGuest)
	assert.Positive(t, r.GoroutinesPerGuest)
	var buf bytes.Buffer
	WriteTable(&buf, []Result{r})
	assert.Contains(t, buf.String(), "bytes/guest")
}

// BenchmarkBoot boots b.N guests, 100 at a time.
func BenchmarkBoot(b *testing.B) {
	ctx := context.Background()
	r, err := Run(ctx, Options{Guests: b.N, Concurrency: 100, IdleWindow: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.BytesPerGuest, "bytes/guest")
	b.ReportMetric(r.GoroutinesPerGuest, "goroutines/guest")
}
