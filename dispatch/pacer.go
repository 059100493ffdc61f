package dispatch

import (
	"context"
	"errors"
	"sync"
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
	// mu guards cut: the reservations Wait cut to the bucket's size, so
	// that Observe settles what was taken rather than what was asked
	// (giving back the difference from the larger figure would credit the
	// bucket with units it never lent).
	mu  sync.Mutex
	cut []cutReservation
}

// cutReservation is a Wait that asked for more than the bucket holds and
// took the whole bucket.
type cutReservation struct{ asked, took float64 }

var _ Pacer = (*pacer)(nil)

// Wait implements Pacer: reserve, sleep the delay, give the units back
// when ctx ends first (as ratelimit.WaitOn does on the wall clock).
func (p *pacer) Wait(ctx context.Context, cost float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	took := cost
	delay, err := p.a.lim.Reserve(ctx, p.clock.Now(), cost)
	if errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		// The marketplace's bucket is smaller than the driver's estimate:
		// take all of it. The answer's Observation settles the difference.
		if b, serr := p.a.lim.State(ctx, p.clock.Now()); serr == nil && b.Burst > 0 {
			delay, err = p.a.lim.Reserve(ctx, p.clock.Now(), b.Burst)
			took = b.Burst
		}
	}
	if err != nil {
		return err
	}
	if took != cost {
		p.mu.Lock()
		p.cut = append(p.cut, cutReservation{asked: cost, took: took})
		p.mu.Unlock()
	}
	if delay <= 0 {
		return nil
	}
	select {
	case <-p.clock.After(delay):
		return nil
	case <-ctx.Done():
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), observeTimeout)
		defer cancel()
		_ = p.a.lim.Observe(gctx, p.clock.Now(), ratelimit.Observation{ReservedCost: took})
		p.settled(cost)
		return ctx.Err()
	}
}

// Observe implements Pacer; it also counts what the account spent.
func (p *pacer) Observe(o ratelimit.Observation) {
	if took, ok := p.settled(o.ReservedCost); ok {
		o.ReservedCost = took
	}
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

// settled forgets the oldest cut reservation that asked for asked and
// returns what it took.
func (p *pacer) settled(asked float64) (float64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.cut {
		if c.asked == asked {
			p.cut = append(p.cut[:i], p.cut[i+1:]...)
			return c.took, true
		}
	}
	return 0, false
}
