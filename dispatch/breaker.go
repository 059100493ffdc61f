package dispatch

import (
	"encoding/json"
	"errors"
	"fmt"
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

// breaker is an account's circuit breaker: a gobreaker
// DistributedCircuitBreaker whose state lives in a SharedDataStore, so
// that every replica sees one breaker per account (Options.BreakerStore).
// Only marketplace failures count against it: 5xx, transport errors and
// timeouts (Unavailable) and answers nobody understands (Unknown). A
// throttle, the Dispatcher's own cancellation and a paused account are
// neither success nor failure; a refused item, a stale compare-and-set or
// a sibling's abort are successes, since the marketplace answered.
//
// gobreaker's distributed breaker has no two-step form: execute runs the
// write inside it, holding the store's lock for the breaker meanwhile.
// Only the holder of the account's lease writes, so nobody waits for that
// lock; the other replicas read the state without it (view).
type breaker struct {
	name     string
	settings gobreaker.Settings
	store    gobreaker.SharedDataStore

	mu     sync.Mutex
	dcb    *gobreaker.DistributedCircuitBreaker[struct{}] // made on first use
	closed atomic.Bool
}

// Breaker-level outcomes, as gobreaker sees them.
var (
	errBreakerFailure  = errors.New("dispatch: write failed")
	errBreakerExcluded = errors.New("dispatch: not counted")
)

// sharedStateKey is the SharedDataStore name under which gobreaker v2.4.0
// keeps a distributed breaker's state (DistributedCircuitBreaker's
// sharedStateKey; breaker_test checks it still is).
func sharedStateKey(name string) string { return "gobreaker:state:" + name }

func newBreaker(name string, s BreakerSettings, store gobreaker.SharedDataStore) *breaker {
	b := &breaker{name: name, store: store}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	failures := s.Failures
	if failures == 0 {
		failures = 5
	}
	b.settings = gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Interval:    s.Interval,
		Timeout:     timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsSuccessful: func(err error) bool {
			return !errors.Is(err, errBreakerFailure)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errBreakerExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Called under gobreaker's lock: only note it. The replica
			// whose probe closes the breaker is the one that writes.
			if to == gobreaker.StateClosed && from == gobreaker.StateHalfOpen {
				b.closed.Store(true)
			}
		},
	}
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

// get returns the distributed breaker, making it (and its shared state,
// when the store has none) on first use.
func (b *breaker) get() (*gobreaker.DistributedCircuitBreaker[struct{}], error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dcb == nil {
		dcb, err := gobreaker.NewDistributedCircuitBreaker[struct{}](b.store, b.settings)
		if err != nil {
			return nil, err
		}
		b.dcb = dcb
	}
	return b.dcb, nil
}

// execute runs write through the breaker and reports whether it ran. When
// it did not, err says why: gobreaker.ErrOpenState or ErrTooManyRequests,
// or the shared store's failure.
func (b *breaker) execute(write func() errcode.Code) (ran bool, err error) {
	for attempt := 0; ; attempt++ {
		dcb, err := b.get()
		if err != nil {
			return false, fmt.Errorf("breaker: %w", err)
		}
		_, err = dcb.Execute(func() (struct{}, error) {
			ran = true
			return struct{}{}, breakerError(write())
		})
		if ran {
			return true, nil // a store failure after the write loses one count, no more
		}
		if errors.Is(err, gobreaker.ErrNoSharedState) && attempt == 0 {
			// The shared state vanished (a flushed or restarted Redis):
			// make it again.
			b.mu.Lock()
			b.dcb = nil
			b.mu.Unlock()
			continue
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return false, err
		}
		return false, fmt.Errorf("breaker: %w", err)
	}
}

// view reads the shared state without the store's lock, as of now: an
// open breaker whose timeout has passed is half-open. A state the store
// does not have, or cannot give, is closed.
func (b *breaker) view() (gobreaker.State, time.Time) {
	data, err := b.store.GetData(sharedStateKey(b.name))
	if err != nil || len(data) == 0 {
		return gobreaker.StateClosed, time.Time{}
	}
	var s gobreaker.SharedState
	if json.Unmarshal(data, &s) != nil {
		return gobreaker.StateClosed, time.Time{}
	}
	if s.State == gobreaker.StateOpen && !time.Now().Before(s.Expiry) {
		return gobreaker.StateHalfOpen, time.Time{}
	}
	return s.State, s.Expiry
}

// state is the breaker's state now, as every replica sees it.
func (b *breaker) state() gobreaker.State {
	s, _ := b.view()
	return s
}

// openFor is how long an open breaker stays open (0 unless open).
func (b *breaker) openFor() time.Duration {
	s, expiry := b.view()
	if s != gobreaker.StateOpen {
		return 0
	}
	return max(time.Millisecond, time.Until(expiry)+time.Millisecond)
}

// takeClosed reports, once, that a probe of this Dispatcher closed the
// breaker.
func (b *breaker) takeClosed() bool { return b.closed.Swap(false) }

// MemoryBreakerStore is a gobreaker.SharedDataStore in memory: the
// breakers of the Dispatchers given the same one share their state, as
// replicas do through dispatch/redisbreaker. The zero value is ready to
// use; it is safe for concurrent use.
type MemoryBreakerStore struct {
	mu    sync.Mutex
	data  map[string][]byte
	locks map[string]chan struct{}
}

var _ gobreaker.SharedDataStore = (*MemoryBreakerStore)(nil)

func (m *MemoryBreakerStore) lock(name string) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks == nil {
		m.locks = map[string]chan struct{}{}
	}
	ch := m.locks[name]
	if ch == nil {
		ch = make(chan struct{}, 1)
		m.locks[name] = ch
	}
	return ch
}

// Lock implements gobreaker.SharedDataStore: it waits until name is
// unlocked.
func (m *MemoryBreakerStore) Lock(name string) error {
	m.lock(name) <- struct{}{}
	return nil
}

// Unlock implements gobreaker.SharedDataStore.
func (m *MemoryBreakerStore) Unlock(name string) error {
	select {
	case <-m.lock(name):
		return nil
	default:
		return fmt.Errorf("dispatch: breaker lock %q is not held", name)
	}
}

// GetData implements gobreaker.SharedDataStore; it returns nil for a name
// never set.
func (m *MemoryBreakerStore) GetData(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[name]...), nil
}

// SetData implements gobreaker.SharedDataStore.
func (m *MemoryBreakerStore) SetData(name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data = map[string][]byte{}
	}
	m.data[name] = append([]byte(nil), data...)
	return nil
}
