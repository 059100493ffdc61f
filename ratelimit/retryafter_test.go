package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/ratelimit"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"1", time.Second, true},
		{" 2.5 ", 2500 * time.Millisecond, true},
		{"0", 0, true},
		{"Wed, 02 Jan 2030 03:04:15 GMT", 10 * time.Second, true},
		{"Wed, 02 Jan 2030 03:04:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"1e300", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, ok := ratelimit.ParseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
