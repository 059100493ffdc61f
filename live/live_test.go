package live

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
)

func av(sku, loc string, seq uint64, avail int64) event.Availability {
	return event.Availability{SKU: sku, Location: loc, Seq: seq, Available: avail}
}

func next(t *testing.T, s *Subscriber) []Change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cs, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return cs
}

func TestFilterBySKUAndLocation(t *testing.T) {
	t.Parallel()
	h := NewHub()
	a := h.Subscribe(Filter{SKUs: []string{"A"}})
	b := h.Subscribe(Filter{Location: "paris"})
	h.Publish(av("A", "berlin", 1, 5))
	h.Publish(av("B", "paris", 1, 7))
	if got := next(t, a); len(got) != 1 || got[0].SKU != "A" {
		t.Fatalf("sku subscriber got %+v", got)
	}
	if got := next(t, b); len(got) != 1 || got[0].SKU != "B" {
		t.Fatalf("location subscriber got %+v", got)
	}
}

func TestSlowSubscriberGetsLatestAndIsTold(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := h.Subscribe(Filter{})
	for i := uint64(1); i <= 1000; i++ {
		h.Publish(av("A", "berlin", i, int64(i)))
	}
	h.Publish(av("B", "berlin", 1, 1))
	got := next(t, s)
	if len(got) != 2 {
		t.Fatalf("got %d changes, want 2 (one per key)", len(got))
	}
	if got[0].SKU != "A" || got[0].Seq != 1000 || !got[0].Coalesced {
		t.Fatalf("first = %+v, want A at seq 1000, coalesced", got[0])
	}
	if got[1].Coalesced {
		t.Fatalf("B was never coalesced: %+v", got[1])
	}
	if s.Coalesced() != 999 {
		t.Fatalf("Coalesced() = %d, want 999", s.Coalesced())
	}
}

func TestOlderSeqIsDropped(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := h.Subscribe(Filter{})
	if !h.Publish(av("A", "x", 5, 5)) {
		t.Fatal("first publish refused")
	}
	if h.Publish(av("A", "x", 4, 4)) || h.Publish(av("A", "x", 5, 5)) {
		t.Fatal("an older or equal seq was published")
	}
	if got := next(t, s); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("got %+v", got)
	}
}

func TestPublishNeverBlocksOnAStuckSubscriber(t *testing.T) {
	t.Parallel()
	h := NewHub()
	_ = h.Subscribe(Filter{}) // never reads
	done := make(chan struct{})
	go func() {
		for i := uint64(1); i <= 100000; i++ {
			h.Publish(av("A", "x", i, 1))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher blocked on a subscriber that does not read")
	}
}

func TestCloseEndsSubscribers(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := h.Subscribe(Filter{SKUs: []string{"A"}})
	errc := make(chan error, 1)
	go func() { _, err := s.Next(context.Background()); errc <- err }()
	h.Close()
	select {
	case err := <-errc:
		if err != ErrClosed {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	if h.Subscribers() != 0 {
		t.Fatalf("Subscribers() = %d after Close", h.Subscribers())
	}
	late := h.Subscribe(Filter{})
	if _, err := late.Next(context.Background()); err != ErrClosed {
		t.Fatalf("subscribe after Close: Next = %v", err)
	}
}

func BenchmarkPublish1000Subscribers(b *testing.B) {
	h := NewHub()
	for i := 0; i < 1000; i++ {
		h.Subscribe(Filter{SKUs: []string{"A", "B"}})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !h.Publish(av("A", "x", uint64(i+1), 1)) {
			b.Fatal("publish refused")
		}
	}
}

// TestSubscribeFuncNotifiesOncePerBatch: a subscriber in notify mode is
// told when its buffer goes from empty to non-empty, not per change, keeps
// coalescing, and is told when it closes.
func TestSubscribeFuncNotifiesOncePerBatch(t *testing.T) {
	t.Parallel()
	h := NewHub()
	var calls atomic.Int32
	s := h.SubscribeFunc(Filter{SKUs: []string{"A", "B"}}, func() { calls.Add(1) })
	h.Publish(av("A", "berlin", 1, 1))
	h.Publish(av("A", "berlin", 2, 2))
	h.Publish(av("B", "berlin", 1, 3))
	h.Publish(av("C", "berlin", 1, 3)) // not watched
	if n := calls.Load(); n != 1 {
		t.Fatalf("notify called %d times for one batch, want 1", n)
	}
	got, err := s.Drain(nil)
	if err != nil || len(got) != 2 || got[0].SKU != "A" || got[0].Seq != 2 || !got[0].Coalesced || got[1].SKU != "B" {
		t.Fatalf("Drain = %+v, %v", got, err)
	}
	if got, err := s.Drain(got[:0]); err != nil || len(got) != 0 {
		t.Fatalf("second Drain = %+v, %v", got, err)
	}
	h.Publish(av("B", "berlin", 2, 4))
	if n := calls.Load(); n != 2 {
		t.Fatalf("notify called %d times after a drained buffer filled again, want 2", n)
	}
	h.Close()
	if n := calls.Load(); n != 3 {
		t.Fatalf("closing the hub notified %d times in all, want 3", n)
	}
	// What was pending is still handed over, then ErrClosed.
	if got, err := s.Drain(nil); err != nil || len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("Drain after close = %+v, %v", got, err)
	}
	if _, err := s.Drain(nil); err != ErrClosed {
		t.Fatalf("Drain of a closed, empty subscriber: %v, want ErrClosed", err)
	}
	if h.Subscribers() != 0 {
		t.Fatal("closed hub still counts subscribers")
	}
}

// TestSubscribeFuncClose: Close removes the subscriber and notifies once.
func TestSubscribeFuncClose(t *testing.T) {
	t.Parallel()
	h := NewHub()
	var calls atomic.Int32
	s := h.SubscribeFunc(Filter{}, func() { calls.Add(1) })
	s.Close()
	s.Close()
	if n := calls.Load(); n != 1 {
		t.Fatalf("notify called %d times by Close, want 1", n)
	}
	if h.Publish(av("A", "x", 1, 1)); calls.Load() != 1 || h.Subscribers() != 0 {
		t.Fatal("a closed subscriber was offered a change")
	}
}
