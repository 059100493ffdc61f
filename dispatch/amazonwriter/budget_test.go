package amazonwriter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
)

// TestFeedBudgetWindow: at most 5 JSON_LISTINGS_FEED in any 5 minutes
// (plus the margin for clocks); the window slides.
func TestFeedBudgetWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewFeedBudget()
		t0 := time.Now()
		for i := range 5 {
			if !b.Ready(t0.Add(time.Duration(i) * time.Minute)) {
				t.Fatalf("submission %d refused", i)
			}
			b.submitted(t0.Add(time.Duration(i) * time.Minute))
		}
		if b.Ready(t0.Add(5 * time.Minute)) {
			t.Error("a sixth feed within 5 minutes of the first")
		}
		if got := b.nextSubmission(t0.Add(5 * time.Minute)); !got.Equal(t0.Add(5*time.Minute + windowMargin)) {
			t.Errorf("next submission at %v, want 5m+margin", got.Sub(t0))
		}
		if !b.Ready(t0.Add(5*time.Minute + windowMargin)) {
			t.Error("the window did not slide")
		}
		b.fill(t0.Add(6 * time.Minute))
		if b.Ready(t0.Add(10 * time.Minute)) {
			t.Error("a feed right after Amazon refused one for its rate")
		}
	})
}

// TestFeedBudgetTake: a call is granted at once from a full bucket, after
// the refill when the bucket is empty, and not at all (nothing taken) when
// the grant would come after the deadline.
func TestFeedBudgetTake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewFeedBudget()
		var c systemClock
		ctx := context.Background()
		op := listingsapi.OpGetFeed // 2/s, burst 15
		for range 15 {
			if ok, _, err := b.take(ctx, c, op, time.Now()); !ok || err != nil {
				t.Fatalf("full bucket: %v %v", ok, err)
			}
		}
		ok, at, err := b.take(ctx, c, op, time.Now().Add(100*time.Millisecond))
		if ok || err != nil || at.Sub(time.Now()) < 400*time.Millisecond {
			t.Fatalf("empty bucket, short deadline: %v at %v %v", ok, at.Sub(time.Now()), err)
		}
		start := time.Now()
		if ok, _, err := b.take(ctx, c, op, time.Now().Add(time.Second)); !ok || err != nil || time.Since(start) != 500*time.Millisecond {
			t.Fatalf("waited %v for one call at 2/s: %v %v", time.Since(start), ok, err)
		}
		b.observe(time.Now(), op, 0, true)
		if st := b.State(op, time.Now()); st.Tokens > 0 {
			t.Errorf("a 429 left %v tokens", st.Tokens)
		}
		b.observe(time.Now(), op, 4, false)
		if st := b.State(op, time.Now()); st.Limit != 4 {
			t.Errorf("x-amzn-RateLimit-Limit 4 gave limit %v", st.Limit)
		}
	})
}
