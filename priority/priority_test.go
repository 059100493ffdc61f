package priority

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// observe records n answers, slow of them over the target.
func observe(p *Pacer, n, slow int) {
	for i := range n {
		if i < slow {
			p.Observe(p.o.Target + time.Millisecond)
		} else {
			p.Observe(p.o.Target)
		}
	}
}

func TestAdjustFollowsTheAnswers(t *testing.T) {
	p := New(&Options{Target: 10 * time.Millisecond, Tick: 5 * time.Millisecond, MaxPeriod: 100 * time.Millisecond})
	steps := []struct {
		name    string
		n, slow int
		want    time.Duration
	}{
		{"fast answers: no pacing", 1000, 0, 0},
		{"a few slow, fewer than minSlow: a stall, not the ledger", 100, minSlow - 1, 0},
		{"over 1 % slow: two ticks", 200, 10, 10 * time.Millisecond},
		{"still: doubled", 200, 10, 20 * time.Millisecond},
		{"over 10 % slow: four times", 200, 30, 80 * time.Millisecond},
		{"capped", 200, 30, 100 * time.Millisecond},
		{"fast again: a quarter shorter", 200, 1, 75 * time.Millisecond},
		{"and again", 200, 0, 56250 * time.Microsecond},
		{"no answers at all: nothing to yield to", 0, 0, 0},
		{"slow again from nothing, over 10 %: four ticks", 100, 20, 20 * time.Millisecond},
	}
	now := time.Unix(1_800_000_000, 0)
	for _, s := range steps {
		now = now.Add(p.o.Window)
		observe(p, s.n, s.slow)
		p.adjust(now)
		if got := p.Period(); got != s.want {
			t.Fatalf("%s: period %v, want %v", s.name, got, s.want)
		}
	}
	// Shrinking below a tick stops pacing.
	for range 10 {
		now = now.Add(p.o.Window)
		observe(p, 100, 0)
		p.adjust(now)
	}
	if got := p.Period(); got != 0 {
		t.Fatalf("after fast answers the period is %v, want 0 (not pacing)", got)
	}
}

// TestPacingGivesUpWhenItDoesNotHelp: answers that stay slow with the
// ledger held far back (a slow disk, not the ledger) stop the pacing
// instead of starving the ledger, until answers have been fast for as
// long again.
func TestPacingGivesUpWhenItDoesNotHelp(t *testing.T) {
	p := New(&Options{Tick: 5 * time.Millisecond, Window: 25 * time.Millisecond, MaxPeriod: 100 * time.Millisecond, GiveUp: 200 * time.Millisecond})
	now := time.Unix(1_800_000_000, 0)
	window := func(n, slow int) time.Duration {
		now = now.Add(p.o.Window)
		observe(p, n, slow)
		p.adjust(now)
		return p.Period()
	}
	// Slow windows, and now and then one with too few slow answers to
	// count (a low rate): the period stays high, the answers slow.
	var reached time.Time
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatalf("always slow: period %v after 100 windows, never gave up", p.Period())
		}
		slow := 12
		if i%4 == 3 {
			slow = minSlow - 1
		}
		period := window(25, slow)
		if period >= p.o.MaxPeriod/2 && reached.IsZero() {
			reached = now
		}
		if period == 0 {
			if reached.IsZero() {
				t.Fatal("stopped pacing before it held the ledger far back")
			}
			if held := now.Sub(reached); held < p.o.GiveUp {
				t.Fatalf("gave up after %v held far back, want %v", held, p.o.GiveUp)
			}
			break
		}
	}
	// Given up: fast windows among slow ones do not re-arm it.
	for i := range 40 {
		slow := 12
		if i%2 == 1 {
			slow = 0
		}
		if period := window(25, slow); period != 0 {
			t.Fatalf("gave up, answers still slow at times: pacing again (%v)", period)
		}
	}
	// Fast for GiveUp: re-armed, and slow answers pace again.
	for range int(p.o.GiveUp/p.o.Window) + 1 {
		if period := window(200, 0); period != 0 {
			t.Fatalf("fast answers: period %v, want 0", period)
		}
	}
	if period := window(200, 200); period != 4*p.o.Tick {
		t.Fatalf("slow again after %v of fast answers: period %v, want %v (re-armed)", p.o.GiveUp, period, 4*p.o.Tick)
	}
}

// TestPacingThatHelpsGoesOn: held far back and answers mostly fast again,
// the pacer does not give up.
func TestPacingThatHelpsGoesOn(t *testing.T) {
	p := New(&Options{Tick: 5 * time.Millisecond, Window: 25 * time.Millisecond, MaxPeriod: 100 * time.Millisecond, GiveUp: 200 * time.Millisecond})
	now := time.Unix(1_800_000_000, 0)
	for i := range 80 { // a burst: a slow window, then fast ones while held back
		now = now.Add(p.o.Window)
		if i%4 == 0 {
			observe(p, 200, 30)
		} else {
			observe(p, 200, 0)
		}
		p.adjust(now)
		if i > 0 && p.Period() == 0 {
			t.Fatalf("window %d: pacing stopped while it kept most answers fast", i)
		}
	}
}

// waiters starts n goroutines that Wait on p, and returns a counter of
// those that have returned.
func waiters(ctx context.Context, p *Pacer, n int) *atomic.Int32 {
	var passed atomic.Int32
	for range n {
		go func() {
			p.Wait(ctx)
			passed.Add(1)
		}()
	}
	return &passed
}

// settle waits until count reaches want, then a little longer, and
// returns what it holds then.
func settle(t *testing.T, count *atomic.Int32, want int32) int32 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for count.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // any waiter let through by mistake shows up
	return count.Load()
}

func TestWaitLetsBatchesThrough(t *testing.T) {
	ctx := context.Background()
	p := New(&Options{Batch: 3})

	// Not pacing: Wait returns at once.
	if got := settle(t, waiters(ctx, p, 5), 5); got != 5 {
		t.Fatalf("not pacing: %d of 5 waiters returned", got)
	}

	p.setPeriod(20 * time.Millisecond)
	passed := waiters(ctx, p, 8)
	if got := settle(t, passed, 0); got != 0 {
		t.Fatalf("pacing, before any opening: %d waiters passed", got)
	}
	p.open()
	if got := settle(t, passed, 3); got != 3 {
		t.Fatalf("one opening of batch 3: %d passed", got)
	}
	p.open()
	if got := settle(t, passed, 6); got != 6 {
		t.Fatalf("two openings: %d passed", got)
	}
	p.setPeriod(0) // pacing stops: everyone goes
	if got := settle(t, passed, 8); got != 8 {
		t.Fatalf("pacing stopped: %d of 8 passed", got)
	}

	// A waiter whose context ends goes too.
	p.setPeriod(20 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	passed = waiters(cctx, p, 2)
	if got := settle(t, passed, 0); got != 0 {
		t.Fatalf("pacing again: %d passed with no opening", got)
	}
	cancel()
	if got := settle(t, passed, 2); got != 2 {
		t.Fatalf("context done: %d of 2 returned", got)
	}
}

// TestRunPacesWhileAnswersAreSlow drives Run with real time: slow answers
// make it pace and let waiters through in batches, and its end releases
// everyone.
func TestRunPacesWhileAnswersAreSlow(t *testing.T) {
	// A window long enough that the goroutine observing answers is never
	// starved for a whole one (with none, the pacer stops pacing).
	p := New(&Options{Tick: time.Millisecond, Window: 50 * time.Millisecond, MaxPeriod: time.Hour, Batch: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()

	stop := make(chan struct{})
	go func() { // slow answers until told to stop
		for {
			select {
			case <-stop:
				return
			default:
				observe(p, 20, 20)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.Period() < 50*time.Millisecond && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Period() < 50*time.Millisecond {
		t.Fatalf("slow answers for 5s: period %v, want it grown past 50ms", p.Period())
	}
	passed := waiters(context.Background(), p, 40)
	time.Sleep(20 * time.Millisecond)
	if got := passed.Load(); got > 4 {
		t.Fatalf("pacing with a period over 50ms and batches of 2: %d waiters passed in 20ms", got)
	}
	close(stop)
	cancel()
	<-done
	if got := settle(t, passed, 40); got != 40 {
		t.Fatalf("after Run ended: %d of 40 waiters returned", got)
	}
	if p.Period() != 0 {
		t.Fatalf("after Run ended the period is %v, want 0", p.Period())
	}
}
