package connectors

import (
	"sync"
	"testing"
	"time"
)

// TestEchoLog checks that the log keeps the latest write per key, whatever
// order concurrent writers record in.
func TestEchoLog(t *testing.T) {
	var l EchoLog[string]
	if _, _, ok := l.Pushed("a"); ok {
		t.Fatal("an empty log has a write")
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { l.Record("a", int64(i), t0.Add(time.Duration(i)*time.Second)) })
	}
	wg.Wait()
	l.Record("b", 7, t0)
	if q, at, ok := l.Pushed("a"); !ok || q != 49 || !at.Equal(t0.Add(49*time.Second)) {
		t.Errorf("a: %d at %v (%v), want the latest write, 49 at +49s", q, at, ok)
	}
	if q, _, ok := l.Pushed("b"); !ok || q != 7 {
		t.Errorf("b: %d (%v), want 7", q, ok)
	}
}

// TestIsEcho checks the echo rule: the same quantity, reported no earlier
// than EchoSkew before the write.
func TestIsEcho(t *testing.T) {
	w := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		qty      int64
		at       time.Time
		pushedAt time.Time
		ok, want bool
	}{
		{"after the write", 5, w.Add(time.Second), w, true, true},
		{"within the skew before it", 5, w.Add(-EchoSkew + time.Second), w, true, true},
		{"before the skew", 5, w.Add(-EchoSkew - time.Second), w, true, false},
		{"another quantity", 6, w, w, true, false},
		{"no write recorded", 5, w, w, false, false},
		{"write time unknown", 5, w.Add(-time.Hour), time.Time{}, true, true},
	} {
		if got := IsEcho(tc.qty, tc.at, 5, tc.pushedAt, tc.ok); got != tc.want {
			t.Errorf("%s: IsEcho = %v, want %v", tc.name, got, tc.want)
		}
	}
}
