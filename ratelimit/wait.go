package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// giveBackTimeout bounds the call that returns the units of an abandoned
// Wait; it runs after the caller's context is done.
const giveBackTimeout = 2 * time.Second

// WaitOn implements Limiter.Wait on top of r's Reserve and Observe, reading
// the wall clock: it reserves cost, sleeps the delay, and gives the units
// back (with an Observation settling the whole cost) when ctx is done first
// or the grant would come after ctx's deadline. Every Limiter in stockgate
// uses it, so Wait behaves the same on every backend.
func WaitOn(ctx context.Context, r Reserver, cost float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	delay, err := r.Reserve(ctx, now, cost)
	if err != nil || delay <= 0 {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
		err := fmt.Errorf("%w (cost %v, delay %v): %w", ErrWouldExceedDeadline, cost, delay, context.DeadlineExceeded)
		return errors.Join(err, giveBack(ctx, r, cost))
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return errors.Join(ctx.Err(), giveBack(ctx, r, cost))
	}
}

// giveBack returns the units of a reservation that will not be used.
func giveBack(ctx context.Context, r Reserver, cost float64) error {
	if cost == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
	defer cancel()
	return r.Observe(ctx, time.Now(), Observation{ReservedCost: cost})
}
