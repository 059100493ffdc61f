package shopifyfake_test

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

func TestBucketArithmetic(t *testing.T) {
	t.Parallel()
	b := shopifyfake.NewBucket(2000, 100, t0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		name string
		do   func() bool
		want float64 // available afterwards
		ok   bool
	}{
		{"starts full", func() bool { return true }, 2000, true},
		{"take 1500", func() bool { return b.TakeAt(t0, 1500) }, 500, true},
		{"restores 100/s for 3s", func() bool { return true }, 800, true},
		{"refuses more than available, takes nothing", func() bool { return b.TakeAt(at(3*time.Second), 801) }, 800, false},
		{"takes exactly what is available", func() bool { return b.TakeAt(at(3*time.Second), 800) }, 0, true},
		{"refund of the unused part", func() bool { b.RefundAt(at(3*time.Second), 2); return true }, 2, true},
		{"an earlier time restores nothing", func() bool { return true }, 2, true},
		{"caps at the maximum", func() bool { return true }, 2000, true},
		{"refund never exceeds the maximum", func() bool { b.RefundAt(at(time.Hour), 500); return true }, 2000, true},
	}
	times := []time.Duration{0, 0, 3 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second, time.Hour, time.Hour}
	for i, s := range steps {
		if ok := s.do(); ok != s.ok {
			t.Fatalf("%s: ok = %v, want %v", s.name, ok, s.ok)
		}
		if got := b.AvailableAt(at(times[i])); got != s.want {
			t.Fatalf("%s: available = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestBucketWaitIsEnough(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{100, 200, 1000, 2000, 50, 3} {
		b := shopifyfake.NewBucket(1000, rate, t0)
		b.TakeAt(t0, 1000-7) // 7 left
		for _, need := range []float64{8, 13, 250, 999, 1000} {
			wait := b.WaitAt(t0, need)
			if wait <= 0 {
				t.Fatalf("rate %v need %v: wait %v", rate, need, wait)
			}
			if want := time.Duration((need - 7) / rate * float64(time.Second)); wait < want || wait > want+time.Nanosecond {
				t.Fatalf("rate %v need %v: wait %v, want (need-available)/rate = %v", rate, need, wait, want)
			}
			probe := *b
			if !probe.TakeAt(t0.Add(wait), need) {
				t.Fatalf("rate %v need %v: not available after the wait %v", rate, need, wait)
			}
			probe = *b
			if wait > time.Millisecond && probe.TakeAt(t0.Add(wait-time.Millisecond), need) {
				t.Fatalf("rate %v need %v: available 1ms before the wait %v", rate, need, wait)
			}
		}
		if w := b.WaitAt(t0, 7); w != 0 {
			t.Fatalf("wait for what is there = %v", w)
		}
	}
}

func TestBucketStatusRoundsDown(t *testing.T) {
	t.Parallel()
	b := shopifyfake.NewBucket(2000, 100, t0)
	b.TakeAt(t0, 2000)
	st := b.StatusAt(t0.Add(12345 * time.Microsecond)) // 1.2345 points
	if st != (shopifyfake.ThrottleStatus{MaximumAvailable: 2000, CurrentlyAvailable: 1, RestoreRate: 100}) {
		t.Fatalf("status = %+v", st)
	}
}

func TestPlansRestoreRates(t *testing.T) {
	t.Parallel()
	for plan, want := range map[shopifyfake.Plan]float64{
		shopifyfake.Standard: 100, shopifyfake.Advanced: 200, shopifyfake.Plus: 1000, shopifyfake.Enterprise: 2000,
	} {
		t.Run(plan.String(), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, shopifyfake.Options{Plan: plan})
			_, _, st := cost(t, f.set(t, "k", qty(1, 1, 5, nil)))
			if st != [3]float64{2000, 2000 - 13, want} {
				t.Fatalf("throttleStatus = %v, want max 2000, available 1987, restore %v", st, want)
			}
			f.clock.Advance(time.Second)
			if got := f.ThrottleStatus(); got.CurrentlyAvailable != 2000 {
				t.Fatalf("after 1s available = %v, want capped at 2000", got.CurrentlyAvailable)
			}
		})
	}
}
