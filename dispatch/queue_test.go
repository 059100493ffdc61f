package dispatch

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 8, 7, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func skus(ts []taken) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.sku
	}
	return out
}

func TestQueueCoalescesWithinTheWindow(t *testing.T) {
	t.Parallel()
	q := newQueue(250*time.Millisecond, time.Second)
	for i := range 10 {
		q.add("A", at(time.Duration(i)*10*time.Millisecond), 0)
	}
	if got := q.take(at(330*time.Millisecond), 10); len(got) != 0 {
		t.Fatalf("taken %v before the window after the last change", skus(got))
	}
	if n, _ := q.next(); !n.Equal(at(340 * time.Millisecond)) {
		t.Fatalf("due at %v, want last change + window", n.Sub(t0))
	}
	got := q.take(at(340*time.Millisecond), 10)
	if len(got) != 1 || got[0].sku != "A" || !got[0].first.Equal(t0) {
		t.Fatalf("took %+v", got)
	}
	if d, _, _ := q.stats(at(time.Second)); d != 1 {
		t.Fatalf("depth %d with A in flight", d)
	}
	q.done(got)
	if d, _, _ := q.stats(at(time.Second)); d != 0 {
		t.Fatalf("depth %d after done", d)
	}
}

func TestQueueMaxDelay(t *testing.T) {
	t.Parallel()
	q := newQueue(250*time.Millisecond, time.Second)
	for i := range 30 { // never quiet for 250ms
		q.add("A", at(time.Duration(i)*100*time.Millisecond), 0)
		if i == 9 {
			if n, _ := q.next(); !n.Equal(at(time.Second)) {
				t.Fatalf("due at %v, want first change + MaxDelay", n.Sub(t0))
			}
		}
	}
	if got := q.take(at(time.Second), 10); len(got) != 1 {
		t.Fatalf("nothing due at MaxDelay")
	}
}

func TestQueueEarliestDueFirst(t *testing.T) {
	t.Parallel()
	q := newQueue(100*time.Millisecond, time.Second)
	q.add("late", at(50*time.Millisecond), 0)
	q.add("early", at(0), 0)
	q.add("later", at(70*time.Millisecond), 0)
	if n := q.dueCount(at(160*time.Millisecond), 10); n != 2 {
		t.Fatalf("dueCount %d, want 2", n)
	}
	if got := skus(q.take(at(time.Second), 2)); fmt.Sprint(got) != "[early late]" {
		t.Fatalf("took %v", got)
	}
	if got := skus(q.take(at(time.Second), 2)); fmt.Sprint(got) != "[later]" {
		t.Fatalf("took %v", got)
	}
}

func TestQueuePutBackKeepsTheFirstChange(t *testing.T) {
	t.Parallel()
	q := newQueue(100*time.Millisecond, time.Second)
	q.add("A", at(0), 0)
	got := q.take(at(100*time.Millisecond), 1)
	q.add("A", at(150*time.Millisecond), 0) // changed again while in flight
	q.putBack(got[0], at(200*time.Millisecond))
	q.done(got)
	_, due, oldest := q.stats(at(200 * time.Millisecond))
	if due != 1 || !oldest.Equal(t0) {
		t.Fatalf("due %d, oldest %v: want the put-back SKU due at once with its first change", due, oldest.Sub(t0))
	}
	again := q.take(at(200*time.Millisecond), 10)
	if len(again) != 1 || !again[0].first.Equal(t0) {
		t.Fatalf("took %+v", again)
	}
}

func TestQueueAddDueDoesNotDelay(t *testing.T) {
	t.Parallel()
	q := newQueue(100*time.Millisecond, time.Second)
	q.add("A", at(0), 0)
	q.addDue("A", at(50*time.Millisecond), at(50*time.Millisecond), true) // a reconcile
	if n, _ := q.next(); !n.Equal(at(50 * time.Millisecond)) {
		t.Fatalf("due at %v", n.Sub(t0))
	}
	q.addDue("A", at(80*time.Millisecond), at(80*time.Millisecond), true)
	if n, _ := q.next(); !n.Equal(at(50 * time.Millisecond)) {
		t.Fatalf("a second reconcile delayed it to %v", n.Sub(t0))
	}
}

func TestQueueWake(t *testing.T) {
	t.Parallel()
	q := newQueue(100*time.Millisecond, time.Second)
	if !q.add("A", at(0), 0) {
		t.Error("first add did not ask for a wake-up")
	}
	if q.add("B", at(10*time.Millisecond), 0) {
		t.Error("a later due time asked for a wake-up")
	}
	if !q.addDue("C", at(20*time.Millisecond), at(20*time.Millisecond), false) {
		t.Error("an earlier due time did not ask for a wake-up")
	}
}

func BenchmarkQueueAddTake(b *testing.B) {
	q := newQueue(250*time.Millisecond, time.Second)
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("SKU-%05d", i)
	}
	b.ReportAllocs()
	now := t0
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Millisecond)
		q.add(names[i%len(names)], now, 0)
		if i%250 == 0 {
			ts := q.take(now, 250)
			q.done(ts)
		}
	}
}

func TestQueueTokensFromTheStore(t *testing.T) {
	t.Parallel()
	q := newQueue(100*time.Millisecond, time.Second)
	q.add("A", at(0), 5)
	got := q.take(at(100*time.Millisecond), 10)
	if len(got) != 1 || got[0].token != 5 || got[0].force {
		t.Fatalf("took %+v, want A with token 5", got)
	}
	// Read back from the store while in flight: known, nothing new.
	if q.restore("A", at(0), 5); len(q.take(at(time.Hour), 10)) != 0 {
		t.Fatal("a token already seen was queued again")
	}
	// Queued again elsewhere meanwhile: pending again, with the new token.
	q.restore("A", at(120*time.Millisecond), 7)
	q.putBack(got[0], at(200*time.Millisecond)) // the write failed
	q.done(got)
	again := q.take(at(time.Hour), 10)
	if len(again) != 1 || again[0].token != 7 || !again[0].first.Equal(t0) {
		t.Fatalf("took %+v, want A with token 7 and the first change", again)
	}
	q.done(again)

	// An old item from the store is due at once; a reconcile forces.
	q.restore("B", at(-time.Hour), 9)
	if n, ok := q.next(); !ok || !n.Equal(at(-time.Hour+100*time.Millisecond)) {
		t.Fatalf("restored B due at %v", n.Sub(t0))
	}
	q.addDue("C", at(0), at(0), true)
	if ts := q.take(at(0), 10); fmt.Sprint(skus(ts)) != "[B C]" || ts[0].force || !ts[1].force {
		t.Fatalf("took %+v", ts)
	}

	// After a reset (the lease was lost) the store's items are new again.
	q.reset()
	if d, _, _ := q.stats(at(0)); d != 2 {
		t.Fatalf("depth %d after reset, want the 2 in flight", d)
	}
	if !q.restore("A", at(0), 7) {
		t.Error("restore after reset did not queue A")
	}
}
