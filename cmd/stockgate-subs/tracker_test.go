package main

import (
	"testing"
	"time"
)

func TestTrackerIndex(t *testing.T) {
	t.Parallel()
	tr := newTracker("subs-1234abcd-", 100)
	for sku, want := range map[string]int{"subs-1234abcd-0": 0, "subs-1234abcd-7": 7, "subs-1234abcd-99": 99} {
		if got, ok := tr.index([]byte(sku)); !ok || got != want {
			t.Errorf("index(%s) = %d, %v, want %d", sku, got, ok, want)
		}
	}
	for _, sku := range []string{"subs-1234abcd-100", "subs-1234abcd-", "subs-1234abcd-07", "subs-1234abcd-warm", "subs-99999999-1", "subs-1234abcd-1x", "x"} {
		if i, ok := tr.index([]byte(sku)); ok {
			t.Errorf("index(%s) = %d, want no index", sku, i)
		}
	}
}

// TestTrackerMatchesCommittedToSends checks the correlation: the k-th
// accepted webhook of a SKU is timed for committed k; a rejected one is
// forgotten; one without answer makes the SKU untimed.
func TestTrackerMatchesCommittedToSends(t *testing.T) {
	t.Parallel()
	tr := newTracker("p-", 3)
	t0 := time.Unix(1000, 0)
	send := func(i int, at time.Time, o outcome) {
		t.Helper()
		if !tr.reserve(i) {
			t.Fatalf("reserve(%d) refused", i)
		}
		if tr.reserve(i) {
			t.Fatalf("reserve(%d) twice: two webhooks in flight for one SKU", i)
		}
		tr.sending(i, at)
		tr.settle(i, o)
	}
	send(0, t0, accepted)
	send(0, t0.Add(time.Second), rejected) // never committed
	send(0, t0.Add(2*time.Second), accepted)
	if at, m := tr.sentAt(0, 1); m != matched || !at.Equal(t0) {
		t.Errorf("committed 1: %v %v, want the first send", at, m)
	}
	if at, m := tr.sentAt(0, 2); m != matched || !at.Equal(t0.Add(2*time.Second)) {
		t.Errorf("committed 2: %v %v, want the third send (the second was rejected)", at, m)
	}
	if _, m := tr.sentAt(0, 3); m != beyond {
		t.Errorf("committed 3 with 2 accepted: %v, want beyond", m)
	}
	if n, exact := tr.accepted(0); n != 2 || !exact {
		t.Errorf("accepted(0) = %d, %v", n, exact)
	}

	send(1, t0, accepted)
	send(1, t0, noAnswer)
	if _, m := tr.sentAt(1, 1); m != unmatched {
		t.Errorf("SKU with a lost webhook: %v, want unmatched", m)
	}
	if _, exact := tr.accepted(1); exact {
		t.Error("a SKU with a lost webhook reported an exact count")
	}

	// Reserved but never sent: nothing recorded, SKU free again.
	tr.reserve(2)
	if _, exact := tr.accepted(2); exact {
		t.Error("a SKU in flight reported an exact count")
	}
	tr.settle(2, unsent)
	if n, exact := tr.accepted(2); n != 0 || !exact || !tr.reserve(2) {
		t.Errorf("after unsent: %d %v", n, exact)
	}
}

// TestObserve checks how a subscriber's deliveries are counted and timed.
func TestObserve(t *testing.T) {
	t.Parallel()
	r := &subsRun{track: newTracker("p-", 4)}
	s := newSubscriber([]int32{1, 3}, []byte("p-warm"))
	t0 := time.Unix(1000, 0)
	for k := range 4 { // SKU 3: four accepted webhooks, one a second
		r.track.reserve(3)
		r.track.sending(3, t0.Add(time.Duration(k)*time.Second))
		r.track.settle(3, accepted)
	}
	deliver := func(sku string, committed int64, coalesced bool, at time.Time) {
		r.observe(s, &change{SKU: []byte(sku), Committed: committed, Available: -committed, Seq: committed, Coalesced: coalesced,
			RecordedAt: []byte(at.Add(-time.Millisecond).Format(time.RFC3339Nano))}, at)
	}
	deliver("p-warm", 1, false, t0)
	if s.warm.Load() != 1 {
		t.Error("warm-up change not noted")
	}
	deliver("p-3", 1, false, t0.Add(5*time.Millisecond))
	deliver("p-3", 4, true, t0.Add(3*time.Second+7*time.Millisecond)) // 2 and 3 coalesced away
	deliver("p-3", 4, false, t0.Add(4*time.Second))                   // a repeat
	deliver("p-0", 1, false, t0)                                      // not watched
	deliver("p-1", 1, false, t0)                                      // watched, never sent
	if got := s.delivered.Load(); got != 4 {
		t.Errorf("delivered = %d, want 4", got)
	}
	want := counts{Flagged: 1, Skipped: 2, Repeats: 1, Unexpected: 2}
	if s.counts != want {
		t.Errorf("counts = %+v, want %+v", s.counts, want)
	}
	if len(s.lat) != 2 || s.lat[0] != 5*time.Millisecond || s.lat[1] != 7*time.Millisecond {
		t.Errorf("latencies = %v, want [5ms 7ms]", s.lat)
	}
	if len(s.ledgerLat) != 2 || s.ledgerLat[0] != time.Millisecond {
		t.Errorf("ledger latencies = %v", s.ledgerLat)
	}
	if s.committed[1].Load() != 4 || s.available[1].Load() != -4 || s.seq[1].Load() != 4 {
		t.Errorf("last values of p-3: %d %d %d", s.committed[1].Load(), s.available[1].Load(), s.seq[1].Load())
	}
}
