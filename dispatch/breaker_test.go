package dispatch

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stockgate/stockgate/errcode"
)

func TestBreakerCountsOnlyMarketplaceFailures(t *testing.T) {
	t.Parallel()
	b := newBreaker("acct", BreakerSettings{Failures: 3, Timeout: time.Hour}, &MemoryBreakerStore{})
	report := func(c errcode.Code) {
		t.Helper()
		ran, err := b.execute(func() errcode.Code { return c })
		if !ran || err != nil {
			t.Fatalf("execute: ran %v, %v (state %v)", ran, err, b.state())
		}
	}
	// Throttles, cancellations and pauses never open it, however many.
	for range 10 {
		report(errcode.ResourceExhausted)
		report(errcode.Canceled)
		report(errcode.DeadlineExceeded)
		report(errcode.Unauthenticated)
	}
	report(errcode.Unavailable)
	report(errcode.Unavailable)
	report(errcode.InvalidArgument) // the marketplace answered: the run of failures ends
	report(errcode.Unavailable)
	report(errcode.Unknown)
	report(errcode.ResourceExhausted) // not counted either way
	if s := b.state(); s != gobreaker.StateClosed {
		t.Fatalf("state %v after 2 failures in a row", s)
	}
	report(errcode.Unavailable)
	if s := b.state(); s != gobreaker.StateOpen {
		t.Fatalf("state %v after 3 failures in a row", s)
	}
	if ran, err := b.execute(func() errcode.Code { t.Error("an open breaker ran a write"); return 0 }); ran || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("open breaker: ran %v, %v", ran, err)
	}
	if d := b.openFor(); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("openFor %v", d)
	}
	if b.takeClosed() {
		t.Error("closed reported while open")
	}
}

// TestBreakerIsShared: two breakers of one account over one store (two
// replicas) are one breaker: what one opens the other sees open, through
// the state gobreaker keeps under the key view reads.
func TestBreakerIsShared(t *testing.T) {
	t.Parallel()
	st := &MemoryBreakerStore{}
	one := newBreaker("acct", BreakerSettings{Failures: 2, Timeout: time.Hour}, st)
	two := newBreaker("acct", BreakerSettings{Failures: 2, Timeout: time.Hour}, st)
	other := newBreaker("other", BreakerSettings{Failures: 2, Timeout: time.Hour}, st)
	for range 2 {
		if ran, err := one.execute(func() errcode.Code { return errcode.Unavailable }); !ran || err != nil {
			t.Fatalf("execute: %v %v", ran, err)
		}
	}
	data, _ := st.GetData(sharedStateKey("acct"))
	var s gobreaker.SharedState
	if err := json.Unmarshal(data, &s); err != nil || s.State != gobreaker.StateOpen {
		t.Fatalf("shared state under %q = %s (%v): gobreaker keeps it elsewhere now", sharedStateKey("acct"), data, err)
	}
	if s := two.state(); s != gobreaker.StateOpen || two.openFor() < 59*time.Minute {
		t.Fatalf("the other replica sees %v, open for %v", s, two.openFor())
	}
	if ran, err := two.execute(func() errcode.Code { return errcode.OK }); ran || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("the other replica wrote through an open breaker: ran %v, %v", ran, err)
	}
	if s := other.state(); s != gobreaker.StateClosed {
		t.Fatalf("another account's breaker is %v", s)
	}
}

// TestBreakerRemakesLostState: a shared state that vanished (a Redis
// restart without persistence) is made again, closed.
func TestBreakerRemakesLostState(t *testing.T) {
	t.Parallel()
	st := &MemoryBreakerStore{}
	b := newBreaker("acct", BreakerSettings{}, st)
	if ran, err := b.execute(func() errcode.Code { return errcode.OK }); !ran || err != nil {
		t.Fatalf("execute: %v %v", ran, err)
	}
	st.mu.Lock()
	clear(st.data)
	st.mu.Unlock()
	if ran, err := b.execute(func() errcode.Code { return errcode.OK }); !ran || err != nil {
		t.Fatalf("execute after the state vanished: %v %v", ran, err)
	}
}
