package main

import (
	"fmt"
	"slices"
	"time"
)

// dist is a sorted set of latency samples.
type dist []time.Duration

// newDist merges sample sets into one sorted dist. The inputs are not
// modified.
func newDist(sets ...[]time.Duration) dist {
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	d := make(dist, 0, n)
	for _, s := range sets {
		d = append(d, s...)
	}
	slices.Sort(d)
	return d
}

// quantile returns the q-quantile (0 < q ≤ 1) by the nearest-rank
// method: the smallest sample with at least q of the samples at or below
// it. It returns 0 for no samples.
func (d dist) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	// rank = ceil(q·n), computed in integers to stay exact for q such as
	// 0.99 and n a multiple of 100.
	n := len(d)
	milli := int(q*1000 + 0.5)
	rank := (milli*n + 999) / 1000
	rank = min(max(rank, 1), n)
	return d[rank-1]
}

// String summarizes d on one line: "p50 1.2ms  p90 2ms  p99 7.1ms  max
// 20ms  (n samples)".
func (d dist) String() string {
	if len(d) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %v  p90 %v  p99 %v  max %v  (%d samples)",
		ms(d.quantile(0.50)), ms(d.quantile(0.90)), ms(d.quantile(0.99)), ms(d[len(d)-1]), len(d))
}

// ms rounds a duration for reading: to 10 µs below 10 ms, to 100 µs
// above.
func ms(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}
