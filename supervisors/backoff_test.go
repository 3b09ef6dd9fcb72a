package supervisors

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoff_Delay_GrowsAndIsCapped(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	want := []time.Duration{10, 10, 20, 40, 80, 100, 100, 100}
	for attempt := 0; attempt < len(want); attempt++ {
		assert.Equal(t, want[attempt]*time.Millisecond, b.Delay(attempt, nil), "attempt %d", attempt)
	}
	assert.Equal(t, 100*time.Millisecond, b.Delay(math.MaxInt, nil), "no overflow")
}

func TestBackoff_Delay_Jitter(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5}
	const almostOne = 0.999999
	for _, tc := range []struct {
		name    string
		attempt int
		r       float64
		want    time.Duration
	}{
		{"no jitter drawn", 3, 0, 40 * time.Millisecond},
		{"half of the jitter", 3, 0.5, 30 * time.Millisecond},
		{"most of the jitter", 3, almostOne, 20 * time.Millisecond},
		{"never below base", 1, almostOne, 10 * time.Millisecond},
		{"never below base, second attempt", 2, almostOne, 10 * time.Millisecond},
		{"at the cap", 9, 0.5, 60 * time.Millisecond},
		{"rand above range is clamped", 3, 7, 20 * time.Millisecond},
		{"rand below range is clamped", 3, -1, 40 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := b.Delay(tc.attempt, func() float64 { return tc.r })
			assert.InDelta(t, tc.want, got, float64(time.Microsecond))
			assert.GreaterOrEqual(t, got, b.Base)
			assert.LessOrEqual(t, got, b.Max)
		})
	}
}

func TestBackoff_Delay_Odd(t *testing.T) {
	assert.Zero(t, Backoff{}.Delay(3, nil), "no base restarts at once")
	assert.Zero(t, Backoff{Base: -time.Second, Max: time.Second}.Delay(3, nil))
	assert.Equal(t, time.Second, Backoff{Base: time.Second}.Delay(5, nil), "max below base is base")
	full := Backoff{Base: time.Millisecond, Max: 8 * time.Millisecond, Jitter: 3}
	assert.Equal(t, time.Millisecond, full.Delay(4, func() float64 { return 0.99 }), "jitter clamped to 1")
}

func TestDefaultBackoff(t *testing.T) {
	assert.Equal(t, 100*time.Millisecond, DefaultBackoff.Delay(1, nil))
	assert.Equal(t, 10*time.Second, DefaultBackoff.Delay(20, nil))
}
