package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// milli is the number of rate.Limiter tokens per unit: costs, bursts and
// tokens are resolved to 0.001 unit, since rate.Limiter counts whole tokens.
const milli = 1000

// maxUnits bounds a burst or cost in units, so that it fits rate.Limiter's
// int tokens with room to spare.
const maxUnits = 1 << 40

// Local is an in-process [Limiter] on golang.org/x/time/rate: the token
// bucket is a rate.Limiter counting milli-units, and Local adds what a
// marketplace budget needs on top of it:
//
//   - fractional, cost-weighted reservations (ReserveN on milli-units);
//   - Observe: a new Limit or Burst goes to SetLimitAt or SetBurstAt; a
//     settlement or a drain to the reported Available re-seeds the bucket
//     (rate.Limiter has no setter for its tokens, so Local starts a new one
//     with the same limit and burst, full as NewLimiter makes it, and
//     reserves it down to the new level);
//   - a Retry-After hold: during it, reservations are computed at the
//     hold's end, so the bucket refills during the hold but never beyond
//     its burst.
//
// rate.Limiter needs time that never goes back; Local computes a call with
// an earlier time than one it has seen at the later time (and measures the
// delay from the caller's time), so concurrent callers that read the clock
// before taking the lock stay exact.
//
// The zero value is a limiter with Limit 0 and Burst 0: it grants only cost
// 0 until an Observation sets a burst and a limit, and then starts empty
// and fills at the limit. NewLocal makes a limiter that starts full. A
// Local is safe for concurrent use.
type Local struct {
	mu   sync.Mutex
	lim  *rate.Limiter // tokens are milli-units; nil in the zero value until first use
	last time.Time     // latest time given to lim
	hold time.Time     // end of a Retry-After hold; zero: none
}

var _ Limiter = (*Local)(nil)

// NewLocal returns a Local that refills at limit units per second up to
// burst units, and starts full. Limit 0 means no refill; both must be finite
// and not negative.
func NewLocal(limit, burst float64) (*Local, error) {
	if err := CheckBudget(limit, burst); err != nil {
		return nil, err
	}
	if burst > maxUnits {
		return nil, fmt.Errorf("%w: burst %v is over %v", ErrInvalidBudget, burst, float64(maxUnits))
	}
	return &Local{lim: rate.NewLimiter(rate.Limit(limit*milli), toMilli(burst))}, nil
}

// Wait implements [Limiter.Wait] with [WaitOn].
func (l *Local) Wait(ctx context.Context, cost float64) error {
	return WaitOn(ctx, l, cost)
}

// Reserve implements [Limiter.Reserve]. It never fails but for the reasons
// in the package documentation; ctx is not used.
func (l *Local) Reserve(_ context.Context, now time.Time, cost float64) (time.Duration, error) {
	if err := CheckCost(cost); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiter()
	n := math.Round(cost * milli)
	if n == 0 {
		return max(0, l.hold.Sub(now)), nil
	}
	if burst := lim.Burst(); n > float64(burst) {
		return 0, fmt.Errorf("%w: cost %v, burst %v", ErrCostExceedsBurst, cost, float64(burst)/milli)
	}
	t := l.at(now, true)
	if lim.Limit() == 0 {
		if have := lim.TokensAt(t); have < n {
			return 0, fmt.Errorf("%w: cost %v, tokens %v", ErrNoRefill, cost, have/milli)
		}
	}
	r := lim.ReserveN(t, int(n))
	l.last = t
	return r.DelayFrom(now), nil
}

// Observe implements [Limiter.Observe]; ctx is not used. In order, it sets
// the limit and the burst, settles the reserved cost, drains the bucket
// (see [Observation.DrainTo]) and starts a Retry-After hold.
func (l *Local) Observe(_ context.Context, now time.Time, o Observation) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Burst > maxUnits {
		return fmt.Errorf("%w: Burst %v is over %v", ErrInvalidObservation, o.Burst, float64(maxUnits))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiter()
	t := l.at(now, false)
	l.last = t
	if o.Limit > 0 {
		lim.SetLimitAt(t, rate.Limit(o.Limit*milli))
	}
	if o.Burst > 0 {
		lim.SetBurstAt(t, toMilli(o.Burst))
	}
	have := lim.TokensAt(t) // capped at the new burst
	want := have
	if s := o.Settle(); s != 0 {
		want = min(want+s*milli, float64(lim.Burst()))
	}
	if d, ok := o.DrainTo(); ok {
		want = min(want, d*milli)
	}
	if want != have {
		l.setTokensAt(t, want)
	}
	if o.RetryAfter > 0 {
		if h := now.Add(o.RetryAfter); h.After(l.hold) {
			l.hold = h
		}
	}
	return nil
}

// State implements [Limiter.State]; ctx is not used and the error is
// always nil.
func (l *Local) State(_ context.Context, now time.Time) (Budget, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiter()
	b := Budget{
		Limit:  float64(lim.Limit()) / milli,
		Burst:  float64(lim.Burst()) / milli,
		Tokens: lim.TokensAt(l.at(now, false)) / milli,
	}
	if l.hold.After(now) {
		b.HoldUntil = l.hold
	}
	return b, nil
}

// limiter returns l.lim, made on first use of a zero Local. Callers hold
// l.mu.
func (l *Local) limiter() *rate.Limiter {
	if l.lim == nil {
		l.lim = rate.NewLimiter(0, 0) // empty: burst and tokens 0
	}
	return l.lim
}

// at returns the time to give rate.Limiter for a call at now: never before
// the last time it was given, and with hold, never before the hold's end.
func (l *Local) at(now time.Time, hold bool) time.Time {
	t := now
	if l.last.After(t) {
		t = l.last
	}
	if hold && l.hold.After(t) {
		t = l.hold
	}
	return t
}

// setTokensAt makes the bucket hold x milli-units at t (x may be negative:
// units reserved ahead). The new rate.Limiter starts full and reserves its
// way down; rounding leaves it less than a milli-unit below x, never above.
// Callers hold l.mu.
func (l *Local) setTokensAt(t time.Time, x float64) {
	b := l.lim.Burst()
	if b == 0 {
		return // holds nothing and grants nothing but cost 0
	}
	lim := rate.NewLimiter(l.lim.Limit(), b)
	for take := math.Ceil(float64(b) - x - 1e-6); take > 0; take -= float64(b) {
		lim.ReserveN(t, int(min(take, float64(b))))
	}
	l.lim = lim
}

// toMilli converts a burst in units to rate.Limiter tokens.
func toMilli(units float64) int {
	return int(math.Round(units * milli))
}
