package main

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	d := newDist(hundred[:50], hundred[50:])
	tests := []struct {
		d    dist
		q    float64
		want time.Duration
	}{
		{d, 0.50, 50 * time.Millisecond},
		{d, 0.90, 90 * time.Millisecond},
		{d, 0.99, 99 * time.Millisecond},
		{d, 1, 100 * time.Millisecond},
		{d, 0.001, time.Millisecond},
		{newDist([]time.Duration{7}), 0.99, 7},
		{newDist([]time.Duration{3, 1, 2}), 0.5, 2},
		{newDist([]time.Duration{4, 3, 1, 2}), 0.5, 2}, // nearest rank: ceil(0.5·4) = 2nd
		{newDist(), 0.5, 0},
	}
	for _, tt := range tests {
		if got := tt.d.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) of %d samples = %v, want %v", tt.q, len(tt.d), got, tt.want)
		}
	}
	if len(d) != 100 || d[0] != time.Millisecond || hundred[0] != 100*time.Millisecond {
		t.Errorf("newDist: sorted %v…, input changed: %v", d[:3], hundred[0])
	}
	if got := newDist().String(); got != "no samples" {
		t.Errorf("String of nothing = %q", got)
	}
}
