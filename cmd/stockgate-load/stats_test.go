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
				s.add(0, time.Duration(g*100+i))
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

func TestSeriesSplitsBySendTime(t *testing.T) {
	t.Parallel()
	var s samples
	// Second 0: 1..100 ms; second 1: nothing; second 2: 200 ms twice; a
	// sample timed from before the run's start counts in second 0.
	for i := 1; i <= 100; i++ {
		s.add(time.Duration(i)*time.Millisecond*9, time.Duration(i)*time.Millisecond)
	}
	s.add(2*time.Second, 200*time.Millisecond)
	s.add(2999*time.Millisecond, 200*time.Millisecond)
	s.add(-time.Millisecond, 300*time.Millisecond)

	got := s.series(time.Second)
	if len(got) != 2 {
		t.Fatalf("series = %+v, want 2 windows (the empty second left out)", got)
	}
	if w := got[0]; w.From != 0 || w.Count != 101 || w.P50 != 51*time.Millisecond || w.P99 != 100*time.Millisecond || w.Max != 300*time.Millisecond {
		t.Errorf("window 0 = %+v, want 101 samples from 0s, p50 51ms, p99 100ms, max 300ms", w)
	}
	if w := got[1]; w.From != 2*time.Second || w.Count != 2 || w.P99 != 200*time.Millisecond {
		t.Errorf("window 1 = %+v, want 2 samples from 2s, p99 200ms", w)
	}
	if all := s.summary(); all.Count != 103 {
		t.Errorf("summary counts %d, want every sample (103)", all.Count)
	}
	if s.series(0) != nil {
		t.Error("series(0) is not nil")
	}
}

func TestWindowJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(window{From: 1500 * time.Millisecond, latency: latency{Count: 2, P50: time.Millisecond, P90: time.Millisecond, P99: 2 * time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fromSeconds":1.5,"count":2,"p50Ms":1,"p90Ms":1,"p99Ms":2,"maxMs":2}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back window
	if err := json.Unmarshal(b, &back); err != nil || back.From != 1500*time.Millisecond || back.Count != 2 || back.P99 != 2*time.Millisecond {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
