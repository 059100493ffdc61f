package dispatch

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stockgate/stockgate/ratelimit"
)

// TestPacerSettlesWhatItTook: a Writer that asks for more than the whole
// bucket gets the whole bucket, and its answer's settlement gives back
// what it took minus what the call cost, never the difference from what
// it asked (which would credit the bucket with units it never lent).
func TestPacerSettlesWhatItTook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const burst = 600.0
		lim, err := ratelimit.NewLocal(200, burst)
		if err != nil {
			t.Fatal(err)
		}
		p := &pacer{a: &account{lim: lim}, clock: systemClock{}}
		ctx := context.Background()
		if err := p.Wait(ctx, 1300); err != nil {
			t.Fatalf("Wait(1300) with a bucket of %v: %v", burst, err)
		}
		if b, _ := lim.State(ctx, systemClock{}.Now()); b.Tokens > 0 {
			t.Fatalf("after taking the whole bucket it holds %v", b.Tokens)
		}
		p.Observe(ratelimit.Observation{ReservedCost: 1300, ActualCost: 13})
		b, _ := lim.State(ctx, systemClock{}.Now())
		if want := burst - 13; b.Tokens > want+0.001 {
			t.Errorf("after a call that cost 13 the bucket holds %v, want at most %v", b.Tokens, want)
		}
		if b.Tokens < burst-13-0.001 {
			t.Errorf("the bucket holds %v: the settlement did not give back what the call did not use", b.Tokens)
		}
		if len(p.cut) != 0 {
			t.Errorf("%d cut reservations left after their settlement", len(p.cut))
		}
	})
}
