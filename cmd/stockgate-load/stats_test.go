package main

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	// 1ms..100ms: nearest rank p is exactly p ms.
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	ten := hundred[:10]
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{7}, 50, 7},
		{"single p99", []time.Duration{7}, 99, 7},
		{"two p50 is the lower", []time.Duration{1, 2}, 50, 1},
		{"two p51 is the upper", []time.Duration{1, 2}, 51, 2},
		{"ten p50", ten, 50, 5 * time.Millisecond},
		{"ten p90", ten, 90, 9 * time.Millisecond},
		{"ten p99 is the max", ten, 99, 10 * time.Millisecond},
		{"hundred p1", hundred, 1, time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p100", hundred, 100, 100 * time.Millisecond},
		{"p0 clamps to the min", hundred, 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	got := summarize(ds)
	want := latency{Count: 1000, P50: 500 * time.Microsecond, P90: 900 * time.Microsecond, P99: 990 * time.Microsecond, Max: time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(ds) {
		t.Error("summarize did not sort its input")
	}
	if got := summarize(nil); got != (latency{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
	if s := summarize(nil).String(); s != "no samples" {
		t.Errorf("empty String() = %q", s)
	}
}

func TestLatencyJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(latency{Count: 3, P50: 1500 * time.Microsecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"count":3,"p50Ms":1.5,"p90Ms":2,"p99Ms":3,"maxMs":4000}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func TestSamplesConcurrent(t *testing.T) {
	t.Parallel()
	var s samples
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				s.add(time.Duration(g*100 + i))
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := s.summary(); got.Count != 800 || got.Max != 799 {
		t.Errorf("summary = %+v, want 800 samples, max 799", got)
	}
}
