package dispatch

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	lo := Backoff{Rand: func() float64 { return 0 }}
	hi := Backoff{Rand: func() float64 { return 0.999999 }}
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{0, 0, 0},
		{1, 125 * time.Millisecond, 250 * time.Millisecond},
		{2, 250 * time.Millisecond, 500 * time.Millisecond},
		{5, 2 * time.Second, 4 * time.Second},
		{8, 15 * time.Second, 30 * time.Second},
		{100, 15 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		if got := lo.Delay(tc.n); got != tc.lo {
			t.Errorf("Delay(%d) low = %v, want %v", tc.n, got, tc.lo)
		}
		if got := hi.Delay(tc.n); got < tc.hi-time.Millisecond || got > tc.hi {
			t.Errorf("Delay(%d) high = %v, want %v", tc.n, got, tc.hi)
		}
	}
	custom := Backoff{Initial: time.Second, Max: 3 * time.Second, Multiplier: 3, Rand: func() float64 { return 0.5 }}
	if got := custom.Delay(2); got != 2250*time.Millisecond { // step 3s: 1.5s + 0.5×1.5s
		t.Errorf("custom Delay(2) = %v", got)
	}
}
