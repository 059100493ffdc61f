package main

import (
	"slices"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type obs struct {
		sub       int
		sku       string
		committed int64
		at        int // ms
	}
	tests := []struct {
		name string
		subs int // 0 means 1
		// setup sends webhooks; SKU 0 is "a", 1 is "b".
		setup     func(tr *tracker)
		observe   []obs
		latencies []time.Duration
		want      deliveryCounts
	}{
		{
			name: "each committed value matches its webhook",
			setup: func(tr *tracker) {
				tr.sending(0, ms(0))
				tr.sending(0, ms(10))
				tr.sending(1, ms(5))
			},
			observe:   []obs{{0, "a", 1, 3}, {0, "b", 1, 6}, {0, "a", 2, 17}},
			latencies: []time.Duration{3 * time.Millisecond, time.Millisecond, 7 * time.Millisecond},
		},
		{
			name: "skipped values are coalesced, not samples",
			setup: func(tr *tracker) {
				for i := range 4 {
					tr.sending(0, ms(i))
				}
			},
			observe:   []obs{{0, "a", 3, 10}, {0, "a", 4, 10}},
			latencies: []time.Duration{8 * time.Millisecond, 7 * time.Millisecond},
			want:      deliveryCounts{Coalesced: 2},
		},
		{
			name: "a failed webhook is forgotten",
			setup: func(tr *tracker) {
				tr.sending(0, ms(0))
				tr.sending(0, ms(1))
				tr.failed(0)
				tr.sending(0, ms(2))
			},
			observe:   []obs{{0, "a", 1, 4}, {0, "a", 2, 4}},
			latencies: []time.Duration{4 * time.Millisecond, 2 * time.Millisecond},
		},
		{
			name: "missing counts per subscriber", subs: 2,
			setup: func(tr *tracker) {
				tr.sending(0, ms(0))
				tr.sending(0, ms(1))
				tr.sending(1, ms(2))
			},
			observe:   []obs{{0, "a", 2, 3}, {1, "a", 1, 3}},
			latencies: []time.Duration{2 * time.Millisecond, 3 * time.Millisecond},
			// subscriber 0: b; subscriber 1: a's second and b.
			want: deliveryCounts{Coalesced: 1, Missing: 3},
		},
		{
			name: "repeats, unknown SKUs and extra commits",
			setup: func(tr *tracker) {
				tr.sending(0, ms(0))
			},
			observe:   []obs{{0, "a", 1, 1}, {0, "a", 1, 2}, {0, "zzz", 1, 2}, {0, "a", 2, 3}},
			latencies: []time.Duration{time.Millisecond},
			want:      deliveryCounts{Repeats: 1, Unexpected: 2},
		},
		{
			name: "a SKU with a lost request is left out", subs: 2,
			setup: func(tr *tracker) {
				tr.sending(0, ms(0))
				tr.lost(0)
				tr.sending(0, ms(1))
				tr.sending(1, ms(0))
			},
			observe: []obs{{0, "a", 1, 5}, {0, "a", 2, 5}},
			want:    deliveryCounts{Unmatched: 2, Missing: 2}, // b, on both subscribers
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTracker([]string{"a", "b"}, max(tt.subs, 1))
			tt.setup(tr)
			for _, o := range tt.observe {
				tr.observe(o.sub, o.sku, o.committed, ms(o.at))
			}
			lat, got := tr.result()
			if !slices.Equal(lat, tt.latencies) {
				t.Errorf("latencies = %v, want %v", lat, tt.latencies)
			}
			if got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
			if m := tr.missing(); m != tt.want.Missing {
				t.Errorf("missing() = %d, want %d", m, tt.want.Missing)
			}
		})
	}
}
