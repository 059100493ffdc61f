package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value that at
// least p percent of the values are less than or equal to. It returns 0
// for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}

// latency summarizes a set of durations.
type latency struct {
	Count              int
	P50, P90, P99, Max time.Duration
}

// summarize returns the summary of ds. It sorts ds in place.
func summarize(ds []time.Duration) latency {
	slices.Sort(ds)
	l := latency{Count: len(ds)}
	if len(ds) > 0 {
		l.P50 = percentile(ds, 50)
		l.P90 = percentile(ds, 90)
		l.P99 = percentile(ds, 99)
		l.Max = ds[len(ds)-1]
	}
	return l
}

// String is the summary on one line, such as
// "p50 1.2ms  p90 2.5ms  p99 7.1ms  max 20ms".
func (l latency) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %v  p90 %v  p99 %v  max %v", round(l.P50), round(l.P90), round(l.P99), round(l.Max))
}

// latencyJSON is a latency on the wire: durations in milliseconds, to the
// microsecond.
type latencyJSON struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func (l latency) wire() latencyJSON {
	return latencyJSON{l.Count, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max)}
}

func (j latencyJSON) latency() latency {
	return latency{Count: j.Count, P50: fromMs(j.P50), P90: fromMs(j.P90), P99: fromMs(j.P99), Max: fromMs(j.Max)}
}

// MarshalJSON writes the durations in milliseconds.
func (l latency) MarshalJSON() ([]byte, error) { return json.Marshal(l.wire()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (l *latency) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = j.latency()
	return nil
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fromMs is ms's inverse.
func fromMs(f float64) time.Duration { return time.Duration(math.Round(f*1000)) * time.Microsecond }

// round shortens d for display: three significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// samples collects durations from many goroutines, each with the offset
// into the run at which the timed operation started.
type samples struct {
	mu sync.Mutex
	ds []time.Duration
	at []time.Duration
}

// add records d for an operation that started at offset at.
func (s *samples) add(at, d time.Duration) {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.at = append(s.at, at)
	s.mu.Unlock()
}

// summary summarizes the durations added so far.
func (s *samples) summary() latency {
	s.mu.Lock()
	ds := slices.Clone(s.ds)
	s.mu.Unlock()
	return summarize(ds)
}

// window summarizes the samples of operations that started in
// [From, From+interval).
type window struct {
	From time.Duration
	latency
}

// windowJSON is a window on the wire: its start in seconds, then the
// latency's fields.
type windowJSON struct {
	From float64 `json:"fromSeconds"`
	latencyJSON
}

// MarshalJSON writes the window as a windowJSON.
func (w window) MarshalJSON() ([]byte, error) {
	return json.Marshal(windowJSON{w.From.Seconds(), w.wire()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (w *window) UnmarshalJSON(b []byte) error {
	var j windowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*w = window{From: fromMs(j.From * 1000), latency: j.latencyJSON.latency()}
	return nil
}

// series summarizes the samples so far per interval of start offsets,
// from the first interval to the last that has a sample; intervals with
// none are left out. A sample that started before offset 0 counts in the
// first.
func (s *samples) series(interval time.Duration) []window {
	if interval <= 0 {
		return nil
	}
	s.mu.Lock()
	byWin := map[int64][]time.Duration{}
	for i, at := range s.at {
		k := int64(max(at, 0) / interval)
		byWin[k] = append(byWin[k], s.ds[i])
	}
	s.mu.Unlock()
	out := make([]window, 0, len(byWin))
	for _, k := range slices.Sorted(maps.Keys(byWin)) {
		out = append(out, window{From: time.Duration(k) * interval, latency: summarize(byWin[k])})
	}
	return out
}
