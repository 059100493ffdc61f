package main

import (
	"math"
	"time"
)

// pacer is an open-loop send schedule: send k (counting from 0) is due at
// start + k/rate, whatever earlier sends cost, until total sends, rate ×
// duration, have been handed out. The sender polls it on a ticker and
// sends what is due; a ticker that fell behind catches up on the next tick
// rather than slowing the schedule down.
//
// Its methods take the time explicitly so tests run on fake time. The zero
// value hands out nothing; use newPacer.
type pacer struct {
	start time.Time
	rate  float64 // sends per second, > 0
	total int64
	taken int64
}

// newPacer returns the schedule of rate sends per second for d from start.
func newPacer(start time.Time, rate float64, d time.Duration) *pacer {
	return &pacer{start: start, rate: rate, total: int64(math.Round(rate * d.Seconds()))}
}

// take returns how many sends are due at now that were not handed out
// before, and counts them as handed out.
func (p *pacer) take(now time.Time) int64 {
	if p.rate <= 0 || now.Before(p.start) {
		return 0
	}
	due := min(int64(p.rate*now.Sub(p.start).Seconds())+1, p.total)
	n := max(due-p.taken, 0)
	p.taken += n
	return n
}

// due returns when send k (counting from 0) is due.
func (p *pacer) due(k int64) time.Time {
	return p.start.Add(time.Duration(float64(k) / p.rate * float64(time.Second)))
}

// done reports whether every send has been handed out.
func (p *pacer) done() bool { return p.taken >= p.total }

// tick is how often the sender polls the schedule: one send interval, but
// no less than a millisecond, so high rates send small bursts each tick
// instead of waking the sender for every request.
func (p *pacer) tick() time.Duration {
	if p.rate <= 0 {
		return time.Millisecond
	}
	return max(time.Duration(float64(time.Second)/p.rate), time.Millisecond)
}
