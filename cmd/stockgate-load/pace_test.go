package main

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	type step struct {
		at   time.Duration
		want int64
	}
	tests := []struct {
		name     string
		rate     float64
		duration time.Duration
		steps    []step
		total    int64
	}{
		{
			name: "one per millisecond, polled on time", rate: 1000, duration: 5 * time.Millisecond,
			steps: []step{{0, 1}, {500 * time.Microsecond, 0}, {time.Millisecond, 1}, {2 * time.Millisecond, 1}},
			total: 5,
		},
		{
			name: "a late poll catches up instead of slowing down", rate: 1000, duration: time.Second,
			steps: []step{{0, 1}, {100 * time.Millisecond, 100}, {100 * time.Millisecond, 0}, {100*time.Millisecond + 999*time.Microsecond, 0}},
			total: 1000,
		},
		{
			name: "never more than the total", rate: 100, duration: time.Second,
			steps: []step{{-time.Second, 0}, {0, 1}, {time.Hour, 99}, {2 * time.Hour, 0}},
			total: 100,
		},
		{
			name: "fractional rate", rate: 2.5, duration: 2 * time.Second,
			steps: []step{{0, 1}, {399 * time.Millisecond, 0}, {400 * time.Millisecond, 1}, {time.Second, 1}, {10 * time.Second, 2}},
			total: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPacer(start, tt.rate, tt.duration)
			if p.total != tt.total {
				t.Fatalf("total = %d, want %d", p.total, tt.total)
			}
			var sum int64
			for _, s := range tt.steps {
				got := p.take(at(s.at))
				if got != s.want {
					t.Errorf("take(start%+v) = %d, want %d", s.at, got, s.want)
				}
				sum += got
			}
			if sum == tt.total != p.done() {
				t.Errorf("handed out %d of %d, done() = %v", sum, tt.total, p.done())
			}
		})
	}
}

func TestPacerTick(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rate float64
		want time.Duration
	}{
		{10, 100 * time.Millisecond},
		{1000, time.Millisecond},
		{100000, time.Millisecond},
	} {
		if got := newPacer(time.Time{}, tt.rate, time.Second).tick(); got != tt.want {
			t.Errorf("tick at %v/s = %v, want %v", tt.rate, got, tt.want)
		}
	}
}

func TestPacerDue(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(start, 2.5, 2*time.Second)
	for k, want := range []time.Duration{0, 400 * time.Millisecond, 800 * time.Millisecond, 1200 * time.Millisecond, 1600 * time.Millisecond} {
		if got := p.due(int64(k)).Sub(start); got != want {
			t.Errorf("due(%d) = start+%v, want start+%v", k, got, want)
		}
		// Send k is handed out exactly when it is due, not before.
		if n := newPacer(start, 2.5, 2*time.Second).take(p.due(int64(k))); n != int64(k)+1 {
			t.Errorf("take at due(%d) hands out %d sends, want %d", k, n, k+1)
		}
	}
}
