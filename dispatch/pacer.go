package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// observeTimeout bounds a limiter call made after the caller's context is
// done (giving units back) or from Observe, which has no context.
const observeTimeout = 5 * time.Second

// pacer is the Pacer lent to a Writer: the account's limiter, slept on
// the Dispatcher's clock.
type pacer struct {
	a     *account
	clock Clock
}

var _ Pacer = (*pacer)(nil)

// Wait implements Pacer: reserve, sleep the delay, give the units back
// when ctx ends first (as ratelimit.WaitOn does on the wall clock).
func (p *pacer) Wait(ctx context.Context, cost float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	delay, err := p.a.lim.Reserve(ctx, p.clock.Now(), cost)
	if errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		// The marketplace's bucket is smaller than the driver's estimate:
		// take all of it. The answer's Observation settles the difference.
		if b, serr := p.a.lim.State(ctx, p.clock.Now()); serr == nil && b.Burst > 0 {
			delay, err = p.a.lim.Reserve(ctx, p.clock.Now(), b.Burst)
		}
	}
	if err != nil || delay <= 0 {
		return err
	}
	select {
	case <-p.clock.After(delay):
		return nil
	case <-ctx.Done():
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), observeTimeout)
		defer cancel()
		_ = p.a.lim.Observe(gctx, p.clock.Now(), ratelimit.Observation{ReservedCost: cost})
		return ctx.Err()
	}
}

// Observe implements Pacer; it also counts what the account spent.
func (p *pacer) Observe(o ratelimit.Observation) {
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	err := p.a.lim.Observe(ctx, p.clock.Now(), o)
	p.a.mu.Lock()
	defer p.a.mu.Unlock()
	p.a.stats.Cost += o.ActualCost
	p.a.stats.Calls++
	if o.Throttled {
		p.a.stats.Throttled++
	}
	if err != nil {
		p.a.setErrorLocked(errcode.Unknown, err, p.clock.Now())
	}
}
