package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrInvalidCost: the cost is negative, NaN or infinite.
	ErrInvalidCost = errors.New("ratelimit: invalid cost")
	// ErrInvalidObservation: a field of the Observation is negative, NaN or
	// infinite.
	ErrInvalidObservation = errors.New("ratelimit: invalid observation")
	// ErrInvalidBudget: a limit or burst given to a constructor is
	// negative, NaN or infinite.
	ErrInvalidBudget = errors.New("ratelimit: invalid budget")
	// ErrCostExceedsBurst: the cost is larger than the bucket can ever
	// hold, so it can never be granted.
	ErrCostExceedsBurst = errors.New("ratelimit: cost exceeds burst")
	// ErrNoRefill: the limit is 0 and the bucket holds less than the cost,
	// so the grant would never come.
	ErrNoRefill = errors.New("ratelimit: limit is 0 and the bucket cannot cover the cost")
	// ErrWouldExceedDeadline: Wait gave up at once because the grant would
	// come after the context's deadline. It comes wrapped with
	// context.DeadlineExceeded.
	ErrWouldExceedDeadline = errors.New("ratelimit: wait would exceed context deadline")
)

// Limiter paces the calls of one connector account. Implementations are
// safe for concurrent use, and a shared implementation is exact across
// processes: whoever reserves from the same bucket shares one budget.
type Limiter interface {
	// Wait blocks until cost units are granted and returns nil: the caller
	// may then send the call. It returns an error, and takes nothing from
	// the budget, when ctx is done first, when the grant would come after
	// ctx's deadline (then at once, without sleeping) or when Reserve
	// fails. Cost 0 takes nothing but still waits out a Retry-After hold.
	Wait(ctx context.Context, cost float64) error

	// Reserve takes cost units from the budget at time now and returns how
	// long after now the caller must wait before sending the call (0: send
	// now). The units are taken even when the delay is positive, so a
	// caller that does not send must give them back with
	// Observe(now, Observation{ReservedCost: cost}). On error nothing is
	// taken.
	Reserve(ctx context.Context, now time.Time, cost float64) (time.Duration, error)

	// Observe adapts the budget to what the marketplace reported at time
	// now; see Observation. The zero Observation changes nothing.
	Observe(ctx context.Context, now time.Time, o Observation) error

	// State reports the budget as of now, for metrics and debugging.
	State(ctx context.Context, now time.Time) (Budget, error)
}

// Reserver is the explicit-time part of a Limiter, on which [WaitOn]
// builds Wait.
type Reserver interface {
	Reserve(ctx context.Context, now time.Time, cost float64) (time.Duration, error)
	Observe(ctx context.Context, now time.Time, o Observation) error
}

// Observation is what one marketplace response said about the budget. Each
// zero field means "not reported" and changes nothing; the package
// documentation maps each marketplace's fields and headers onto it.
type Observation struct {
	// Limit is the refill rate in units per second (Shopify restoreRate,
	// Amazon x-amzn-RateLimit-Limit). Zero: unchanged.
	Limit float64
	// Burst is the bucket size in units (Shopify maximumAvailable). Zero:
	// unchanged. A smaller burst also caps the tokens.
	Burst float64
	// Available is what the marketplace says is left in the bucket
	// (Shopify currentlyAvailable). It is read only when HasAvailable is
	// set, since 0 is a real value. When it is lower than the limiter's own
	// count the bucket is drained to it; a higher value is ignored, as the
	// marketplace has not yet seen the calls in flight.
	Available    float64
	HasAvailable bool
	// Throttled reports that the call was refused for its rate (HTTP 429,
	// Shopify THROTTLED, Amazon QuotaExceeded, Square RATE_LIMITED). Unless
	// HasAvailable says otherwise, the bucket is then taken to be empty.
	Throttled bool
	// RetryAfter is the marketplace's Retry-After: nothing is granted
	// before now+RetryAfter, and the bucket is taken to be empty at now
	// (unless HasAvailable says otherwise). Zero: no hold.
	RetryAfter time.Duration
	// ReservedCost and ActualCost settle a call: the difference
	// ReservedCost − ActualCost is given back to the bucket (or, when the
	// call cost more than was reserved, taken from it). Set both, or
	// neither: with ReservedCost 0 nothing is settled. A call that was
	// throttled, or never sent, cost 0 (Shopify reports a null
	// actualQueryCost).
	ReservedCost float64
	ActualCost   float64
}

// Budget is a limiter's state at one time.
type Budget struct {
	// Limit is the refill rate in units per second.
	Limit float64
	// Burst is the bucket size in units.
	Burst float64
	// Tokens is what the bucket holds; negative when calls have reserved
	// more than it held and are waiting for the refill.
	Tokens float64
	// HoldUntil is the end of a Retry-After hold; zero when there is none.
	HoldUntil time.Time
}

// Validate checks an Observation's fields and reports every bad one.
func (o Observation) Validate() error {
	var errs []error
	check := func(name string, v float64) {
		if !finiteNonNeg(v) {
			errs = append(errs, fmt.Errorf("%w: %s = %v", ErrInvalidObservation, name, v))
		}
	}
	check("Limit", o.Limit)
	check("Burst", o.Burst)
	check("Available", o.Available)
	check("ReservedCost", o.ReservedCost)
	check("ActualCost", o.ActualCost)
	if o.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("%w: RetryAfter = %v", ErrInvalidObservation, o.RetryAfter))
	}
	return errors.Join(errs...)
}

// DrainTo returns the level the bucket must be drained to (if it holds more)
// and whether there is one: Available when reported, else 0 after a
// throttle or a Retry-After. Available was measured while the call ran, so
// the drain may take what refilled since; crediting that back (the call's
// duration times Limit) was tried and, on a loaded machine, overestimated
// and drew a THROTTLED, so the limiter errs on the side of the budget.
func (o Observation) DrainTo() (float64, bool) {
	switch {
	case o.HasAvailable:
		return o.Available, true
	case o.Throttled || o.RetryAfter > 0:
		return 0, true
	}
	return 0, false
}

// Settle returns what the bucket gets back: ReservedCost − ActualCost, or
// 0 when ReservedCost is 0. It is negative when the call cost more than
// was reserved.
func (o Observation) Settle() float64 {
	if o.ReservedCost == 0 {
		return 0
	}
	return o.ReservedCost - o.ActualCost
}

// CheckCost returns ErrInvalidCost unless cost is finite and not negative.
func CheckCost(cost float64) error {
	if !finiteNonNeg(cost) {
		return fmt.Errorf("%w: %v", ErrInvalidCost, cost)
	}
	return nil
}

// CheckBudget returns ErrInvalidBudget unless limit and burst are finite
// and not negative.
func CheckBudget(limit, burst float64) error {
	if !finiteNonNeg(limit) || !finiteNonNeg(burst) {
		return fmt.Errorf("%w: limit %v, burst %v", ErrInvalidBudget, limit, burst)
	}
	return nil
}

func finiteNonNeg(v float64) bool {
	return v >= 0 && !math.IsInf(v, 1) // NaN fails v >= 0
}
