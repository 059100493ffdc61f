package dispatch

import (
	"context"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// Status is what an operator sees of one connector account.
type Status struct {
	// Account is the Writer's Key.
	Account string
	// Leased is set while this Dispatcher holds the account's lease and
	// so is the replica that writes it. The queue figures below are this
	// Dispatcher's then; otherwise they include what the store's durable
	// queue holds.
	Leased bool
	// QueueDepth is how many SKUs wait to be written, in flight included.
	QueueDepth int
	// Due is how many of them are past their coalescing window: they wait
	// only for the rate budget, the breaker, a backoff or a pause.
	Due int
	// Lag is how long the oldest of them has waited since its first
	// unwritten change: how far behind the channel is. Zero when none.
	Lag time.Duration
	// Budget is the account's rate budget now.
	Budget ratelimit.Budget
	// BreakerState is "closed", "half-open" or "open", as every replica
	// sees it.
	BreakerState string
	// Paused is set after the marketplace refused the credentials (or the
	// endpoint); nothing is written until Resume. An alert was raised.
	Paused bool
	// LastError, LastErrorCode and LastErrorAt describe the latest failure.
	LastError     string
	LastErrorCode errcode.Code
	LastErrorAt   time.Time
	// LastWriteAt is when a write last succeeded.
	LastWriteAt time.Time
	// Written counts updates the channel confirmed; DeadLettered those
	// given up on. Calls counts marketplace calls, Throttled those
	// refused for their rate, Cost what they cost from the budget.
	Written, DeadLettered uint64
	Calls, Throttled      uint64
	Cost                  float64
}

// counters are the running totals of Status.
type counters struct {
	Written, DeadLettered uint64
	Calls, Throttled      uint64
	Cost                  float64
}

// Status reports every account, in the order they were given to New.
// For an account another replica writes (or before Run), the queue
// figures include the store's queue; the counters and errors are always
// this Dispatcher's own.
func (d *Dispatcher) Status() []Status {
	now := d.clock.Now()
	out := make([]Status, 0, len(d.accounts))
	for _, a := range d.accounts {
		out = append(out, d.status(a, now))
	}
	return out
}

func (d *Dispatcher) status(a *account, now time.Time) Status {
	_, _, leased := a.holds(now)
	depth, due, oldest := a.q.stats(now)
	if !leased {
		_ = d.queueStatus(a, now, &depth, &due, &oldest) // what it could read
	}
	s := Status{Account: a.key, Leased: leased, QueueDepth: depth, Due: due, BreakerState: a.br.state().String()}
	if !oldest.IsZero() {
		s.Lag = max(0, now.Sub(oldest))
	}
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	s.Budget, _ = a.lim.State(ctx, now)
	a.mu.Lock()
	defer a.mu.Unlock()
	s.Paused = a.paused
	s.LastError, s.LastErrorCode, s.LastErrorAt = a.lastErr, a.lastCode, a.lastErrAt
	s.LastWriteAt = a.lastWriteAt
	s.Written, s.DeadLettered = a.stats.Written, a.stats.DeadLettered
	s.Calls, s.Throttled, s.Cost = a.stats.Calls, a.stats.Throttled, a.stats.Cost
	return s
}

// setErrorLocked records a failure; callers hold a.mu.
func (a *account) setErrorLocked(c errcode.Code, err error, now time.Time) {
	a.lastErr, a.lastCode, a.lastErrAt = err.Error(), c, now
}
