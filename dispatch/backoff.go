package dispatch

import (
	"math/rand/v2"
	"time"
)

// Backoff computes jittered exponential delays: attempt n (from 1) waits
// a random time in [d/2, d] where d = min(Initial × Multiplier^(n−1), Max)
// ("equal jitter": never less than half the step, so the load stays
// bounded, and spread so that accounts that failed together do not retry
// together). The zero value is usable: its fields' zero values are the
// defaults below.
type Backoff struct {
	// Initial is the first step. Zero: 250ms.
	Initial time.Duration
	// Max caps a step. Zero: 30s.
	Max time.Duration
	// Multiplier grows each step. Zero (or below 1): 2.
	Multiplier float64
	// Rand returns a float in [0, 1) for the jitter; inject a fixed source
	// in tests. Nil: math/rand/v2.Float64.
	Rand func() float64
}

// Delay is the wait before the attempt after n consecutive failures
// (n ≥ 1; n ≤ 0 gives 0).
func (b Backoff) Delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	initial, maxD, mult := b.Initial, b.Max, b.Multiplier
	if initial <= 0 {
		initial = 250 * time.Millisecond
	}
	if maxD <= 0 {
		maxD = 30 * time.Second
	}
	if mult < 1 {
		mult = 2
	}
	d := float64(initial)
	for i := 1; i < n && d < float64(maxD); i++ {
		d *= mult
	}
	d = min(d, float64(maxD))
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(d/2 + r()*d/2)
}
