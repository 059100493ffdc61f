package dispatch

import (
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stockgate/stockgate/errcode"
)

func TestBreakerCountsOnlyMarketplaceFailures(t *testing.T) {
	t.Parallel()
	b := newBreaker("acct", BreakerSettings{Failures: 3, Timeout: time.Hour})
	report := func(c errcode.Code) {
		t.Helper()
		done, err := b.allow()
		if err != nil {
			t.Fatalf("allow: %v (state %v)", err, b.state())
		}
		done(c)
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
	if _, err := b.allow(); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("open breaker allowed a write: %v", err)
	}
	if d := b.openFor(); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("openFor %v", d)
	}
	if b.takeClosed() {
		t.Error("closed reported while open")
	}
}
