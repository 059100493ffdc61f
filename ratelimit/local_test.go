package ratelimit_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/ratelimit/ratelimittest"
)

func newLocal(t testing.TB, limit, burst float64) ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.NewLocal(limit, burst)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalConformance(t *testing.T) {
	ratelimittest.RunConformanceTests(t, newLocal)
}

func BenchmarkLocal(b *testing.B) {
	ratelimittest.RunBenchmarks(b, newLocal)
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// The zero Local grants nothing but cost 0 until it learns a budget, then
// starts empty.
func TestLocalZeroValue(t *testing.T) {
	var l ratelimit.Local
	if d, err := l.Reserve(t.Context(), t0, 0); err != nil || d != 0 {
		t.Errorf("Reserve(0) = %v, %v; want 0, nil", d, err)
	}
	if _, err := l.Reserve(t.Context(), t0, 1); !errors.Is(err, ratelimit.ErrCostExceedsBurst) {
		t.Errorf("Reserve(1): err = %v, want ErrCostExceedsBurst", err)
	}
	if err := l.Observe(t.Context(), t0, ratelimit.Observation{Limit: 50, Burst: 1000}); err != nil {
		t.Fatal(err)
	}
	b, _ := l.State(t.Context(), t0)
	if b != (ratelimit.Budget{Limit: 50, Burst: 1000}) {
		t.Errorf("State = %+v, want Limit 50, Burst 1000, Tokens 0", b)
	}
	if d, err := l.Reserve(t.Context(), t0, 100); err != nil || d != 2*time.Second {
		t.Errorf("Reserve(100) = %v, %v; want 2s, nil", d, err)
	}
}

func TestNewLocalRejectsBadBudgets(t *testing.T) {
	for _, c := range [][2]float64{{-1, 1}, {1, -1}, {math.NaN(), 1}, {1, math.Inf(1)}, {math.Inf(1), 1}, {1, 1e15}} {
		if _, err := ratelimit.NewLocal(c[0], c[1]); !errors.Is(err, ratelimit.ErrInvalidBudget) {
			t.Errorf("NewLocal(%v, %v): err = %v, want ErrInvalidBudget", c[0], c[1], err)
		}
	}
}

// Settling many calls never lets the tokens drift above what they should
// be: re-seeding the rate.Limiter rounds toward fewer tokens.
func TestLocalSettleDoesNotDrift(t *testing.T) {
	l, _ := ratelimit.NewLocal(50, 1000)
	now := t0
	for range 1000 {
		now = now.Add(7 * time.Millisecond) // refills 0.35
		if _, err := l.Reserve(t.Context(), now, 10.5); err != nil {
			t.Fatal(err)
		}
		if err := l.Observe(t.Context(), now, ratelimit.Observation{ReservedCost: 10.5, ActualCost: 0.4}); err != nil {
			t.Fatal(err)
		}
	}
	// Spent 0.4 per call, refilled 0.35: 1000 − 1000·0.05 = 950.
	b, _ := l.State(t.Context(), now)
	if b.Tokens > 950+1e-9 || b.Tokens < 949 {
		t.Errorf("Tokens = %v, want 950 (at most a milli-unit per settlement below)", b.Tokens)
	}
}

func TestObservationValidateReportsEveryField(t *testing.T) {
	err := ratelimit.Observation{Limit: -1, Burst: math.NaN(), RetryAfter: -1}.Validate()
	for _, f := range []string{"Limit", "Burst", "RetryAfter"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want it to name %s", err, f)
		}
	}
}
