package supervisors

import "time"

// Backoff is a bounded exponential backoff: the delay before restart n
// (1-based, counted within the strategy's window) is Base doubled n-1
// times, capped at Max, then shortened by a random fraction of up to
// Jitter of itself but never below Base. So every delay lies in
// [Base, Max], and children failing together do not restart together.
type Backoff struct {
	Base   time.Duration // delay before the first restart; <= 0 restarts at once
	Max    time.Duration // cap; a Max below Base is Base
	Jitter float64       // 0 (none) to 1; clamped to that range
}

// DefaultBackoff is the Backoff of a Strategy built without WithBackoff:
// 100ms, 200ms, 400ms, ... up to 10s, each up to 20% shorter.
var DefaultBackoff = Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: 0.2}

// Delay returns the delay before restart attempt (1 for the first; lower
// counts as 1). rnd returns a number in [0, 1) that picks the jitter; a nil
// rnd means no jitter.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	ceiling := max(b.Max, b.Base)
	d := b.Base
	for i := 1; i < attempt && d < ceiling; i++ {
		if d > ceiling/2 {
			d = ceiling
			break
		}
		d *= 2
	}
	d = min(d, ceiling)
	jitter := min(max(b.Jitter, 0), 1)
	if jitter == 0 || rnd == nil {
		return d
	}
	r := min(max(rnd(), 0), 1)
	d -= time.Duration(float64(d) * jitter * r)
	return max(d, b.Base)
}
