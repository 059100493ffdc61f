// Package ratelimittest is the conformance suite for ratelimit.Limiter
// implementations. An implementation is done when it passes
// [RunConformanceTests]; [RunBenchmarks] measures its hot paths the same way
// for every backend.
//
// A backend runs the suite from its own test file through a [Maker]:
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.RunConformanceTests(t, func(t testing.TB, limit, burst float64) ratelimit.Limiter {
//			l, err := ratelimit.NewLocal(limit, burst)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return l
//		})
//	}
//
// The suite drives the explicit-time methods on fake time (a fixed start,
// advanced by the tests), so its checks are exact to within a millisecond
// and take no wall time. Only the Wait tests use the wall clock, briefly.
package ratelimittest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/ratelimit"
)

// Maker returns a limiter over a new bucket of its own that refills at
// limit units per second up to burst units and starts full. It calls
// t.Fatal (or t.Skip) when it cannot.
type Maker func(t testing.TB, limit, burst float64) ratelimit.Limiter

// start is the fake clock's first reading.
var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// tol is how far a delay may be from the exact one: backends round costs
// to 0.001 unit and times to a microsecond.
const tol = time.Millisecond

// RunConformanceTests runs the suite against the limiters mk makes. The
// subtests run in parallel, each on its own limiter.
func RunConformanceTests(t *testing.T, mk Maker) {
	tests := []struct {
		name string
		f    func(*testing.T, Maker)
	}{
		{"FreshState", testFreshState},
		{"BurstThenRate", testBurstThenRate},
		{"CostWeighted", testCostWeighted},
		{"InvalidCost", testInvalidCost},
		{"NoRefill", testNoRefill},
		{"ObserveLimitAndBurst", testObserveLimitAndBurst},
		{"ObserveAvailableDrains", testObserveAvailableDrains},
		{"ObserveSettles", testObserveSettles},
		{"ShopifyThrottled", testShopifyThrottled},
		{"ThrottledEmpties", testThrottledEmpties},
		{"RetryAfterHolds", testRetryAfterHolds},
		{"InvalidObservation", testInvalidObservation},
		{"TimeGoingBack", testTimeGoingBack},
		{"Concurrent", testConcurrent},
		{"WaitGrants", testWaitGrants},
		{"WaitHonoursContext", testWaitHonoursContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, mk)
		})
	}
}

// at is the fake time d after start.
func at(d time.Duration) time.Time { return start.Add(d) }

func reserve(t *testing.T, l ratelimit.Limiter, now time.Time, cost float64) time.Duration {
	t.Helper()
	d, err := l.Reserve(t.Context(), now, cost)
	if err != nil {
		t.Fatalf("Reserve(%v, %v): %v", now.Sub(start), cost, err)
	}
	return d
}

func wantDelay(t *testing.T, l ratelimit.Limiter, now time.Time, cost float64, want time.Duration) {
	t.Helper()
	if got := reserve(t, l, now, cost); got < want-tol || got > want+tol {
		t.Errorf("Reserve(start+%v, %v) = %v, want %v", now.Sub(start), cost, got, want)
	}
}

func observe(t *testing.T, l ratelimit.Limiter, now time.Time, o ratelimit.Observation) {
	t.Helper()
	if err := l.Observe(t.Context(), now, o); err != nil {
		t.Fatalf("Observe(start+%v, %+v): %v", now.Sub(start), o, err)
	}
}

func state(t *testing.T, l ratelimit.Limiter, now time.Time) ratelimit.Budget {
	t.Helper()
	b, err := l.State(t.Context(), now)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return b
}

func wantTokens(t *testing.T, l ratelimit.Limiter, now time.Time, want float64) {
	t.Helper()
	if got := state(t, l, now).Tokens; math.Abs(got-want) > 0.01 {
		t.Errorf("State(start+%v).Tokens = %v, want %v", now.Sub(start), got, want)
	}
}

func testFreshState(t *testing.T, mk Maker) {
	l := mk(t, 10, 5)
	b := state(t, l, start)
	if b.Limit != 10 || b.Burst != 5 || b.Tokens != 5 || !b.HoldUntil.IsZero() {
		t.Errorf("State = %+v, want Limit 10, Burst 5, Tokens 5, no hold", b)
	}
}

// testBurstThenRate: a burst of B units passes at once, then exactly R
// units per second.
func testBurstThenRate(t *testing.T, mk Maker) {
	const r, b = 10, 5
	l := mk(t, r, b)
	for i := range b {
		if d := reserve(t, l, start, 1); d != 0 {
			t.Fatalf("burst call %d: delay %v, want 0", i, d)
		}
	}
	for k := 1; k <= 10; k++ {
		wantDelay(t, l, start, 1, time.Duration(k)*time.Second/r)
	}

	// A caller that acts as soon as it is granted gets B + ⌊R·T⌋ units in
	// T: here 5 + 99 in 9.95 s.
	l = mk(t, r, b)
	end := at(9950 * time.Millisecond)
	n := 0
	for now := start; ; n++ {
		g := now.Add(reserve(t, l, now, 1))
		if g.After(end) {
			break
		}
		now = g
	}
	if want := b + 99; n != want {
		t.Errorf("granted %d units in 9.95 s, want %d", n, want)
	}

	// After a long idle time the bucket holds B, not more.
	l = mk(t, r, b)
	reserve(t, l, start, b)
	idle := at(time.Hour)
	wantTokens(t, l, idle, b)
	wantDelay(t, l, idle, b, 0)
	wantDelay(t, l, idle, 1, time.Second/r)
}

func testCostWeighted(t *testing.T, mk Maker) {
	l := mk(t, 100, 100)
	wantDelay(t, l, start, 60, 0)
	wantDelay(t, l, start, 60, 200*time.Millisecond) // 20 short at 100/s
	wantDelay(t, l, start, 0, 0)
	wantTokens(t, l, start, -20)
	wantDelay(t, l, at(time.Second), 80, 0) // 80 refilled, 80 taken

	_, err := l.Reserve(t.Context(), start, 101)
	if !errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		t.Errorf("Reserve(101) with burst 100: err = %v, want ErrCostExceedsBurst", err)
	}
	wantTokens(t, l, at(time.Second), 0)

	// Fractional costs.
	l = mk(t, 1, 1)
	for range 4 {
		wantDelay(t, l, start, 0.25, 0)
	}
	wantDelay(t, l, start, 0.25, 250*time.Millisecond)
}

func testInvalidCost(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	for _, c := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := l.Reserve(t.Context(), start, c); !errors.Is(err, ratelimit.ErrInvalidCost) {
			t.Errorf("Reserve(%v): err = %v, want ErrInvalidCost", c, err)
		}
		if err := l.Wait(t.Context(), c); !errors.Is(err, ratelimit.ErrInvalidCost) {
			t.Errorf("Wait(%v): err = %v, want ErrInvalidCost", c, err)
		}
	}
	wantTokens(t, l, start, 10)
}

func testNoRefill(t *testing.T, mk Maker) {
	l := mk(t, 0, 2)
	wantDelay(t, l, start, 2, 0)
	if _, err := l.Reserve(t.Context(), at(time.Hour), 1); !errors.Is(err, ratelimit.ErrNoRefill) {
		t.Errorf("Reserve with limit 0 and an empty bucket: err = %v, want ErrNoRefill", err)
	}
	wantTokens(t, l, at(time.Hour), 0)
	// Once the marketplace reports a limit, the bucket refills.
	observe(t, l, at(time.Hour), ratelimit.Observation{Limit: 4})
	wantDelay(t, l, at(time.Hour), 1, 250*time.Millisecond)
}

func testObserveLimitAndBurst(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	wantDelay(t, l, start, 10, 0)
	observe(t, l, start, ratelimit.Observation{Limit: 100})
	wantDelay(t, l, start, 1, 10*time.Millisecond)
	if b := state(t, l, start); b.Limit != 100 || b.Burst != 10 {
		t.Errorf("after Observe(Limit 100): %+v, want Limit 100, Burst 10", b)
	}

	// A larger burst: after a long wait it all passes at once.
	observe(t, l, at(time.Second), ratelimit.Observation{Burst: 20})
	h := at(time.Hour)
	wantTokens(t, l, h, 20)
	wantDelay(t, l, h, 20, 0)
	wantDelay(t, l, h, 1, 10*time.Millisecond)

	// A smaller burst caps the tokens.
	h2 := at(2 * time.Hour)
	observe(t, l, h2, ratelimit.Observation{Burst: 5})
	wantTokens(t, l, h2, 5)
	if _, err := l.Reserve(t.Context(), h2, 6); !errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		t.Errorf("Reserve(6) after Observe(Burst 5): err = %v, want ErrCostExceedsBurst", err)
	}

	// Amazon's x-amzn-RateLimit-Limit: the rate only.
	observe(t, l, h2, ratelimit.Observation{Limit: 2})
	if b := state(t, l, h2); b.Limit != 2 || b.Burst != 5 {
		t.Errorf("after Observe(Limit 2): %+v, want Limit 2, Burst 5", b)
	}
	wantDelay(t, l, h2, 5, 0)
	wantDelay(t, l, h2, 1, 500*time.Millisecond)

	// The zero Observation changes nothing.
	before := state(t, l, h2)
	observe(t, l, h2, ratelimit.Observation{})
	if after := state(t, l, h2); after != before {
		t.Errorf("zero Observation changed the state: %+v, then %+v", before, after)
	}
}

func testObserveAvailableDrains(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	observe(t, l, start, ratelimit.Observation{Available: 3, HasAvailable: true})
	wantTokens(t, l, start, 3)
	wantDelay(t, l, start, 3, 0)
	wantDelay(t, l, start, 1, 100*time.Millisecond)

	// A higher Available does not raise the bucket; an unset one is
	// ignored.
	observe(t, l, start, ratelimit.Observation{Available: 50, HasAvailable: true})
	observe(t, l, start, ratelimit.Observation{Available: 0})
	wantTokens(t, l, start, -1)

	// Available 0 is a real value.
	observe(t, l, at(time.Hour), ratelimit.Observation{Available: 0, HasAvailable: true})
	wantTokens(t, l, at(time.Hour), 0)
	wantDelay(t, l, at(time.Hour), 1, 100*time.Millisecond)
}

func testObserveSettles(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	wantDelay(t, l, start, 8, 0)
	observe(t, l, start, ratelimit.Observation{ReservedCost: 8, ActualCost: 3})
	wantTokens(t, l, start, 7)
	// A call that cost more than was reserved takes the rest.
	observe(t, l, start, ratelimit.Observation{ReservedCost: 2, ActualCost: 6})
	wantTokens(t, l, start, 3)
	// A give-back never overfills the bucket.
	observe(t, l, start, ratelimit.Observation{ReservedCost: 100})
	wantTokens(t, l, start, 10)
	// ActualCost without ReservedCost settles nothing.
	observe(t, l, start, ratelimit.Observation{ActualCost: 4})
	wantTokens(t, l, start, 10)
}

// testShopifyThrottled replays the throttled response in the Shopify
// reference (§5.1): requestedQueryCost 752, currentlyAvailable 666,
// maximumAvailable 1000, restoreRate 50. The retry must wait
// (752 − 666) / 50 = 1.72 s.
func testShopifyThrottled(t *testing.T, mk Maker) {
	l := mk(t, 50, 1000)
	wantDelay(t, l, start, 752, 0)
	observe(t, l, start, ratelimit.Observation{
		Limit: 50, Burst: 1000, Available: 666, HasAvailable: true,
		Throttled: true, ReservedCost: 752, ActualCost: 0,
	})
	wantTokens(t, l, start, 666)
	wantDelay(t, l, start, 752, 1720*time.Millisecond)
}

func testThrottledEmpties(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	observe(t, l, start, ratelimit.Observation{Throttled: true})
	wantTokens(t, l, start, 0)
	wantDelay(t, l, start, 1, 100*time.Millisecond)
}

func testRetryAfterHolds(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	observe(t, l, start, ratelimit.Observation{RetryAfter: 2 * time.Second})
	b := state(t, l, start)
	if !b.HoldUntil.Equal(at(2*time.Second)) || math.Abs(b.Tokens) > 0.01 {
		t.Errorf("after Retry-After 2s: %+v, want Tokens 0, HoldUntil start+2s", b)
	}
	// Cost 0 waits out the hold too.
	wantDelay(t, l, start, 0, 2*time.Second)
	// The bucket refills during the hold (20 units in 2 s, capped at 10):
	// 10 units at the hold's end, then the rate.
	wantDelay(t, l, start, 1, 2*time.Second)
	for range 9 {
		wantDelay(t, l, at(time.Second), 1, time.Second)
	}
	wantDelay(t, l, at(time.Second), 1, time.Second+100*time.Millisecond)

	// A shorter Retry-After does not shorten the hold.
	l = mk(t, 10, 10)
	observe(t, l, start, ratelimit.Observation{RetryAfter: 2 * time.Second})
	observe(t, l, start, ratelimit.Observation{RetryAfter: time.Second})
	if h := state(t, l, start).HoldUntil; !h.Equal(at(2 * time.Second)) {
		t.Errorf("HoldUntil = start+%v, want start+2s", h.Sub(start))
	}
	if h := state(t, l, at(3*time.Second)).HoldUntil; !h.IsZero() {
		t.Errorf("HoldUntil after the hold = start+%v, want zero", h.Sub(start))
	}
	wantDelay(t, l, at(3*time.Second), 10, 0)
}

func testInvalidObservation(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	for _, o := range []ratelimit.Observation{
		{Limit: -1},
		{Burst: math.NaN()},
		{Available: math.Inf(1), HasAvailable: true},
		{RetryAfter: -time.Second},
		{ReservedCost: -1},
		{ActualCost: math.NaN(), ReservedCost: 1},
	} {
		if err := l.Observe(t.Context(), start, o); !errors.Is(err, ratelimit.ErrInvalidObservation) {
			t.Errorf("Observe(%+v): err = %v, want ErrInvalidObservation", o, err)
		}
	}
	if b := state(t, l, start); b.Limit != 10 || b.Burst != 10 || b.Tokens != 10 || !b.HoldUntil.IsZero() {
		t.Errorf("invalid observations changed the state: %+v", b)
	}
}

// testTimeGoingBack: a call with an earlier time than one already seen is
// computed at the later time: no refill is counted twice.
func testTimeGoingBack(t *testing.T, mk Maker) {
	l := mk(t, 10, 10)
	wantDelay(t, l, start, 10, 0)
	wantDelay(t, l, at(time.Second), 10, 0)
	// At start+500ms, the limiter has already handed out what refilled
	// until start+1s: a unit is 100 ms after start+1s, 600 ms from the
	// caller's time.
	wantDelay(t, l, at(500*time.Millisecond), 1, 600*time.Millisecond)
	wantTokens(t, l, at(time.Second), -1)
}

// testConcurrent: N goroutines × M calls, each with its own advancing fake
// time, never get more than B + R·W units in any window of length W, and
// the limiter wastes nothing while the demand exceeds the budget.
func testConcurrent(t *testing.T, mk Maker) {
	const (
		r, b = 50, 10
		n, m = 8, 40
	)
	l := mk(t, r, b)
	var (
		mu     sync.Mutex
		grants []Grant
		wg     sync.WaitGroup
	)
	for g := range n {
		wg.Go(func() {
			for j := range m {
				now := at(time.Duration(j) * 5 * time.Millisecond)
				cost := float64(1 + (g+j)%3)
				d, err := l.Reserve(t.Context(), now, cost)
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				mu.Lock()
				grants = append(grants, Grant{now.Add(d), cost})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	CheckWindows(t, grants, r, b, 100*time.Millisecond, time.Second, 3*time.Second)
	CheckBucket(t, grants, r, b)

	// The demand (all asked within 200 ms) exceeds the budget, so the
	// bucket is never idle: the last unit is granted when the budget
	// allows it, not later.
	var total float64
	last := start
	for _, g := range grants {
		total += g.Cost
		if g.At.After(last) {
			last = g.At
		}
	}
	want := at(time.Duration((total - b) / r * float64(time.Second)))
	if d := last.Sub(want); d < -tol || d > tol {
		t.Errorf("%v units granted by start+%v, want start+%v", total, last.Sub(start), want.Sub(start))
	}
}

// Grant is Cost units granted at At, for CheckWindows.
type Grant struct {
	At   time.Time
	Cost float64
}

// CheckWindows fails t when the grants in any window of one of the given
// lengths add up to more than burst + limit·length (plus 0.01 unit of
// rounding). Backends use it to check real-time runs too.
func CheckWindows(t testing.TB, grants []Grant, limit, burst float64, windows ...time.Duration) {
	t.Helper()
	gs := slices.Clone(grants)
	slices.SortFunc(gs, func(a, b Grant) int { return a.At.Compare(b.At) })
	for _, w := range windows {
		allowed := burst + limit*w.Seconds() + 0.01
		// Sliding window [gs[i].At, gs[i].At+w): the worst window starts
		// at a grant.
		var sum float64
		j := 0
		for i := range gs {
			for j < len(gs) && gs[j].At.Before(gs[i].At.Add(w)) {
				sum += gs[j].Cost
				j++
			}
			if sum > allowed {
				t.Errorf("%v units granted in the %v from %v, want ≤ %v", sum, w, gs[i].At.Format(time.StampMicro), allowed)
				break
			}
			sum -= gs[i].Cost
		}
	}
}

// testWaitGrants: Wait sleeps until the grant (wall clock).
func testWaitGrants(t *testing.T, mk Maker) {
	l := mk(t, 20, 1)
	t0 := time.Now()
	for range 3 {
		if err := l.Wait(t.Context(), 1); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
	// One at once, two at 50 ms intervals.
	if el := time.Since(t0); el < 95*time.Millisecond || el > 2*time.Second {
		t.Errorf("3 Waits at 20/s with burst 1 took %v, want ≈ 100ms", el)
	}
}

// testWaitHonoursContext: Wait gives up when its context is done, and
// gives the units back (wall clock).
func testWaitHonoursContext(t *testing.T, mk Maker) {
	l := mk(t, 1, 1)
	ctx := t.Context()
	if err := l.Wait(ctx, 1); err != nil {
		t.Fatalf("first Wait: %v", err)
	}
	// From here on the bucket is about empty: a unit takes ~1 s.
	tokens := func() float64 {
		t.Helper()
		b, err := l.State(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b.Tokens
	}

	// A deadline before the grant: give up at once.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	t0 := time.Now()
	err := l.Wait(dctx, 1)
	cancel()
	if !errors.Is(err, ratelimit.ErrWouldExceedDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait past the deadline: err = %v, want ErrWouldExceedDeadline and DeadlineExceeded", err)
	}
	if el := time.Since(t0); el > 250*time.Millisecond {
		t.Errorf("Wait past the deadline returned after %v, want at once", el)
	}
	if tk := tokens(); tk < -0.5 {
		t.Errorf("tokens after giving up = %v, want the unit given back (> -0.5)", tk)
	}

	// Cancelled while waiting.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 = time.Now()
	err = l.Wait(cctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait cancelled: err = %v, want context.Canceled", err)
	}
	if el := time.Since(t0); el < 40*time.Millisecond || el > 700*time.Millisecond {
		t.Errorf("cancelled Wait returned after %v, want ≈ 50ms", el)
	}
	if tk := tokens(); tk < -0.5 {
		t.Errorf("tokens after cancellation = %v, want the unit given back (> -0.5)", tk)
	}

	// Already done: nothing is reserved.
	before := tokens()
	if err := l.Wait(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context: err = %v, want context.Canceled", err)
	}
	if after := tokens(); after < before-0.01 {
		t.Errorf("Wait on a cancelled context took tokens: %v, then %v", before, after)
	}

	if err := l.Wait(ctx, 2); !errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		t.Errorf("Wait(2) with burst 1: err = %v, want ErrCostExceedsBurst", err)
	}
}

// CheckBucket fails t when a marketplace with the same bucket (full at the
// first grant, refilling at limit up to burst) would have throttled any of
// the grants, had each call arrived at its grant time. It allows 0.01 unit
// of rounding.
func CheckBucket(t testing.TB, grants []Grant, limit, burst float64) {
	t.Helper()
	gs := slices.Clone(grants)
	slices.SortFunc(gs, func(a, b Grant) int { return a.At.Compare(b.At) })
	tokens := burst
	throttled := 0
	for i, g := range gs {
		if i > 0 {
			tokens = min(burst, tokens+g.At.Sub(gs[i-1].At).Seconds()*limit)
		}
		if tokens < g.Cost-0.01 {
			if throttled == 0 {
				t.Errorf("grant %d of %v units at %v: the bucket held %.3f", i, g.Cost, g.At.Format(time.StampMicro), tokens)
			}
			throttled++
			continue
		}
		tokens -= g.Cost
	}
	if throttled > 0 {
		t.Errorf("a marketplace with limit %v and burst %v would have throttled %d of %d grants", limit, burst, throttled, len(gs))
	}
}
