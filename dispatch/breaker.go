package dispatch

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stockgate/stockgate/errcode"
)

// BreakerSettings configure the circuit breaker of each account
// (sony/gobreaker/v2). Each field's zero value is the default named.
type BreakerSettings struct {
	// Failures is how many consecutive failed writes open the breaker.
	// Zero: 5.
	Failures uint32
	// Timeout is how long the breaker stays open before it lets one probe
	// write through (half-open). gobreaker reads the wall clock, so this
	// is wall-clock time. Zero: 30s.
	Timeout time.Duration
	// Interval is how often a closed breaker forgets its counts (see
	// gobreaker.Settings.Interval). Zero: never; only consecutive failures
	// matter.
	Interval time.Duration
}

// breaker is an account's circuit breaker. Only marketplace failures
// count against it: 5xx, transport errors and timeouts (Unavailable) and
// answers nobody understands (Unknown). A throttle, the Dispatcher's own
// cancellation and a paused account are neither success nor failure; a
// refused item, a stale compare-and-set or a sibling's abort are
// successes, since the marketplace answered.
type breaker struct {
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	timeout time.Duration

	mu       sync.Mutex
	openedAt time.Time // wall clock, as gobreaker's
	closed   atomic.Bool
}

// Breaker-level outcomes, as gobreaker sees them.
var (
	errBreakerFailure  = errors.New("dispatch: write failed")
	errBreakerExcluded = errors.New("dispatch: not counted")
)

func newBreaker(name string, s BreakerSettings) *breaker {
	b := &breaker{timeout: s.Timeout}
	if b.timeout <= 0 {
		b.timeout = 30 * time.Second
	}
	failures := s.Failures
	if failures == 0 {
		failures = 5
	}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Interval:    s.Interval,
		Timeout:     b.timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsSuccessful: func(err error) bool {
			return !errors.Is(err, errBreakerFailure)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errBreakerExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Called under gobreaker's lock: only note it.
			switch {
			case to == gobreaker.StateOpen:
				b.mu.Lock()
				b.openedAt = time.Now()
				b.mu.Unlock()
			case to == gobreaker.StateClosed && from == gobreaker.StateHalfOpen:
				b.closed.Store(true)
			}
		},
	})
	return b
}

// breakerError is what gobreaker is told about a write with code c.
func breakerError(c errcode.Code) error {
	switch c {
	case errcode.Unavailable, errcode.Unknown:
		return errBreakerFailure
	case errcode.ResourceExhausted, errcode.Canceled, errcode.DeadlineExceeded, errcode.Unauthenticated, errcode.NotFound:
		return errBreakerExcluded
	}
	return nil
}

// allow asks for one write; done reports its code.
func (b *breaker) allow() (done func(errcode.Code), err error) {
	d, err := b.cb.Allow()
	if err != nil {
		return nil, err
	}
	return func(c errcode.Code) { d(breakerError(c)) }, nil
}

// state is the breaker's state now.
func (b *breaker) state() gobreaker.State { return b.cb.State() }

// openFor is how long an open breaker stays open (0 unless open).
func (b *breaker) openFor() time.Duration {
	if b.cb.State() != gobreaker.StateOpen {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(time.Millisecond, time.Until(b.openedAt.Add(b.timeout))+time.Millisecond)
}

// takeClosed reports, once, that the breaker closed after a probe.
func (b *breaker) takeClosed() bool { return b.closed.Swap(false) }
